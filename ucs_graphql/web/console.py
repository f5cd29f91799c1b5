"""The customer console at /console: a page of the server, working offline, on the public GraphQL API only.

One HTML shell answers `/console`, `/console/customers/{customer_id}`, `/console/identify?{attribute}={value}`,
the supervisors' live feed `/console/live` and every other path below /console: the page's ES modules
(`static/console/`, no build step, nothing vendored) read the location and draw the view. The shell and its
modules are served anonymously (they hold no data; the page signs in before it asks for any) under a
Content-Security-Policy naming the server's own origin only (`ucs_graphql.web.pageheaders.CONSOLE_CSP`): no
inline script or style.

The modules and the stylesheet are served below `/console/assets/{VERSION}/`, VERSION a digest of every file
of the folder, and cached for good (`immutable`): a browser that opened the console once asks only for the
shell (revalidated each time) and the data; a server bringing other files names another folder. The shell
preloads every module (`modulepreload`), so they load side by side rather than one import after another.

The page's requests carry `X-Requested-With`, so a 401 opens no browser password prompt
(`ucs_graphql.access.gate.challenge`).

With access control off, the shell of `/console/customers/{customer_id}` also preloads the document the page
draws the customer's timeline from (`FIRST_PAINT`, by GET: `<link rel="preload" as="fetch">`), so the server reads
it while the browser loads the modules; the page takes that answer instead of asking again (`main.js`,
`firstPaint`). With access control on, the page signs in first and asks itself.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route

from ucs_graphql.web.assets import PageAssets
from ucs_graphql.web.pageheaders import CONSOLE_CSP, page_headers

STATIC = Path(__file__).parent / "static" / "console"
PAGE = "/console"
# Where the page's modules and styles are served, below the root path (and below the base path when set).
ASSETS = "/console/assets"
MODULES = tuple(sorted(p.name for p in STATIC.glob("*.js")))


def _version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


VERSION = _version()

# What the customer view draws its timeline from, as main.js's FIRST_PAINT asks it on a first load: every part of
# the metadata, and the profile with its services (`TIMELINE_FIELDS` of timeline.js). tests/test_console.py checks
# that the modules select the same fields.
ITEM = "durationMs disposition started { timestamp } completed { timestamp }"
METADATA = ("businessAttributes", "identificationKeys { name source attributes unique normalize }",
            "profileAttributes { name type encrypt }",
            "extensionSchemas(level: PROFILE) { name type attributes { name type encrypt } }")
FIRST_PAINT = " ".join(f"""query($id: String!, $after: String) {{ {" ".join(METADATA)}
  profile(customerId: $id) {{ customerId attributes services(first: 100, after: $after) {{ edges {{ node {{
    serviceId serviceType {ITEM}
    states {{ stateId stateType {ITEM} }}
    tasks {{ taskId taskType stateId {ITEM} }} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}""".split())

_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>ucs-graphql · console</title>
<link rel="icon" href="data:,"/>
<link rel="stylesheet" href="{assets}/console.css"/>
{preloads}{data}
<script type="module" src="{assets}/main.js"></script>
</head>
<body data-root="{root}" data-access="{access}">
<header class="bar">
  <a class="brand" href="{root}/console" data-nav="">ucs console</a>
  <nav aria-label="Console"><a id="nav-live" href="{root}/console/live" data-nav="">Live feed</a></nav>
  <form id="search" role="search">
    <label for="search-value">Find a customer</label>
    <input id="search-value" name="q" type="search" placeholder="phone, e-mail or account" autocomplete="off"/>
    <button type="submit">Find</button>
  </form>
  <span id="who" aria-live="polite"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main id="view"><p>Loading…</p></main>
</body>
</html>
"""


def is_console(path: str) -> bool:
    """Whether a path (below the base path) is the console's shell or one of its files (served anonymously)."""
    return path == PAGE or path.startswith(PAGE + "/")


async def shell(request: Request) -> HTMLResponse:
    """The console's HTML shell, its files under the same prefix as the page."""
    path = request.url.path
    root = path[: path.index(PAGE)] if PAGE in path else ""
    access = "off" if request.app.state.runtime.parts["gate"].open else "on"
    assets = html.escape(f"{root}{ASSETS}/{VERSION}")
    preloads = "\n".join(f'<link rel="modulepreload" href="{assets}/{name}"/>' for name in MODULES if name != "main.js")
    data = ""
    rest = str(request.path_params.get("rest", ""))
    customer = rest[len("customers/"):].rstrip("/") if rest.startswith("customers/") else ""
    if access == "off" and customer and "/" not in customer:
        query = urlencode({"query": FIRST_PAINT, "variables": json.dumps({"id": customer, "after": None})},
                          quote_via=quote)
        href = html.escape(f"{root}/graphql?{query}")
        data = f'\n<link rel="preload" as="fetch" crossorigin="anonymous" href="{href}"/>'
    body = _SHELL.format(assets=assets, preloads=preloads, data=data, root=html.escape(root), access=access)
    return HTMLResponse(body, headers={**page_headers(CONSOLE_CSP), "Cache-Control": "no-cache"})


def routes(prefixes: list[str]) -> list[BaseRoute]:
    """The console's files and its shell under each prefix."""
    files = PageAssets(STATIC, cache_control="public, max-age=31536000, immutable")  # other files: another VERSION
    out: list[BaseRoute] = []
    for prefix in prefixes:
        out += [Mount(f"{prefix}{ASSETS}/{VERSION}", app=files), Route(prefix + PAGE, shell, methods=["GET", "HEAD"]),
                Route(prefix + PAGE + "/{rest:path}", shell, methods=["GET", "HEAD"])]
    return out
