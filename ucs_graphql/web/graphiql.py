"""GraphiQL at /graphql for a browser asking for HTML, working offline.

The page and its scripts and styles come from this package (`static/graphiql/`: our page script and the
vendored builds of React, GraphiQL and its explorer plugin, pinned and refreshed by
`scripts/refresh-graphiql.sh`), anonymously: they hold no data, and a browser must be able to show the page
before anyone signs in. The page's Content-Security-Policy allows its own origin only
(`ucs_graphql.web.pageheaders.GRAPHIQL_CSP`).

Signing in happens on the page (user and password, or a token), never through the browser's own prompt: the
page marks its requests with `X-Requested-With`, and a 401 answered to a marked request names no Basic
challenge (`ucs_graphql.access.gate.challenge`).
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount

from ucs_graphql.web.assets import PageAssets
from ucs_graphql.web.pageheaders import GRAPHIQL_CSP, page_headers

STATIC = Path(__file__).parent / "static" / "graphiql"
# Where the page's files are served, below the root path (and below the base path when one is set).
ASSETS = "/graphiql"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>ucs-graphql · GraphiQL</title>
<link rel="icon" href="data:,"/>
<link rel="stylesheet" href="{assets}/vendor/graphiql.min.css"/>
<link rel="stylesheet" href="{assets}/vendor/graphiql-plugin-explorer.css"/>
<link rel="stylesheet" href="{assets}/ucs-graphiql.css"/>
</head>
<body>
<form id="ucs-signin" autocomplete="on">
  <strong>ucs-graphql</strong>
  <span class="ucs-guarded">
    <input id="ucs-user" name="username" placeholder="user" autocomplete="username"/>
    <input id="ucs-password" name="password" type="password" placeholder="password"
           autocomplete="current-password"/>
    <span>or</span>
    <input id="ucs-token" name="token" type="password" placeholder="API token" autocomplete="off"/>
  </span>
  <input id="ucs-tenant" name="tenant" placeholder="tenant (1)" inputmode="numeric" size="9"/>
  <button id="ucs-signin-button" type="submit">Apply</button>
  <button id="ucs-signout" type="button" class="ucs-guarded">Sign out</button>
  <span id="ucs-who" aria-live="polite"></span>
</form>
<div id="graphiql" data-endpoint="{endpoint}" data-access="{access}">Loading…</div>
<script src="{assets}/vendor/react.production.min.js"></script>
<script src="{assets}/vendor/react-dom.production.min.js"></script>
<script src="{assets}/vendor/graphiql.min.js"></script>
<script src="{assets}/vendor/graphiql-plugin-explorer.umd.js"></script>
<script src="{assets}/ucs-graphiql.js"></script>
</body>
</html>
"""


def wants_graphiql(method: str, accept: str, has_query: bool) -> bool:
    """Whether a request to /graphql is a browser asking for the GraphiQL page: a GET without a `query`
    parameter whose Accept names text/html (a client accepting anything gets GraphQL answers)."""
    return method == "GET" and not has_query and "text/html" in accept.lower()


def has_query_parameter(query_string: bytes) -> bool:
    """Whether a URL's query string has a `query` parameter."""
    return bool(query_string) and "query" in parse_qs(query_string.decode("latin-1"), keep_blank_values=True)


def page(request: Request, access_control: bool) -> HTMLResponse:
    """The GraphiQL page for a request to /graphql (or /graphql/), its files under the same prefix."""
    path = request.url.path
    prefix = path.rstrip("/").removesuffix("/graphql")
    body = _PAGE.format(assets=html.escape(prefix + ASSETS), endpoint=html.escape(path),
                        access="on" if access_control else "off")
    return HTMLResponse(body, headers={**page_headers(GRAPHIQL_CSP), "Cache-Control": "no-cache"})


def asset_routes(prefixes: list[str]) -> list[BaseRoute]:
    """The page's scripts and styles under each prefix's /graphiql/."""
    files = PageAssets(STATIC, cache_control="public, max-age=86400")  # pinned: a new version, a new server
    return [Mount(prefix + ASSETS, app=files) for prefix in prefixes]
