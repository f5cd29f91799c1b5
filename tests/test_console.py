"""The customer console's shell and files over HTTP: served from the package, anonymously, under a policy
allowing the server's own origin only, the same shell for every console path.
tests/test_console_browser.py runs the page in Chromium."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from tests.test_access import CONFIG
from ucs_graphql.web.console import FIRST_PAINT, ITEM, METADATA, MODULES, STATIC, VERSION


async def test_every_console_path_serves_the_shell_and_its_modules_anonymously(make_client):
    client = await make_client(config_text=CONFIG)
    shells = []
    for path in ("/console", "/console/", "/console/customers/0VcgX8DrDBiY0iks",
                 "/console/identify?PhoneNumber=%2B33%203%2014", "/console/search?q=x"):
        got = await client.get(path)
        assert got.status_code == 200, path
        assert got.headers["content-type"].startswith("text/html")
        csp = got.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp and "connect-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp and "://" not in csp and "*" not in csp and "unsafe" not in csp
        assert got.headers["x-frame-options"] == "DENY" and got.headers["x-content-type-options"] == "nosniff"
        shells.append(got.text)
    assert len(set(shells)) == 1
    page = shells[0]
    assert "://" not in page and "<script>" not in page and "style=" not in page  # nothing inline, no other origin
    assert 'data-access="on"' in page
    assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', page)
    folder = f"/console/assets/{VERSION}/"
    assert sorted(assets) == sorted(folder + name for name in ("console.css", *MODULES))  # every module preloaded
    assert set(MODULES) >= {"main.js", "api.js", "dom.js", "timeline.js"}
    for name in (*MODULES, "console.css"):
        got = await client.get(folder + name)
        assert got.status_code == 200, name
        assert got.content == (STATIC / name).read_bytes()
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get(folder + "main.js")).headers["content-type"].startswith("text/javascript")
    assert (await client.get(folder + "nope.js")).status_code == 404
    assert (await client.get("/console/assets/main.js")).status_code == 200  # the shell: not a file of another version
    assert "text/javascript" not in (await client.get("/console/assets/main.js")).headers["content-type"]
    # The shell and files hold no data; the API they use still asks for credentials.
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 401


async def test_the_modules_import_only_their_own_files_and_never_write_html():
    for module in STATIC.glob("*.js"):
        text = module.read_text()
        for imported in re.findall(r'from "([^"]+)"', text):
            assert imported.startswith("./") and (STATIC / imported.removeprefix("./")).is_file(), imported
        assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text
        assert "document.write" not in text and "eval(" not in text
        # Markup from the data only enters a frame with every sandbox restriction (an HTML e-mail body).
        for line in text.splitlines():
            if "srcdoc" in line and not line.lstrip().startswith("//"):
                assert 'el("iframe", { sandbox: "", srcdoc: ' in line, line
        # The sign-in is held in memory only (api.js): no web storage and no cookie is used at all.
        assert not re.search(r"(localStorage|sessionStorage|indexedDB)\s*[.\[]|document\.cookie", text), module


async def test_the_shell_says_when_access_control_is_off_and_honours_the_base_path(make_client):
    client = await make_client()
    assert 'data-access="off"' in (await client.get("/console")).text
    based = await make_client(base_path="/ucs")
    page = await based.get("/ucs/console/customers/x")
    assert page.status_code == 200 and f'src="/ucs/console/assets/{VERSION}/main.js"' in page.text
    assert 'data-root="/ucs"' in page.text
    assert (await based.get(f"/ucs/console/assets/{VERSION}/main.js")).status_code == 200


async def test_an_open_servers_customer_shell_preloads_the_document_of_the_timeline(make_client):
    client = await make_client()
    created = await client.post("/profiles", json={"FirstName": "Ada", "LastName": "Quill"})
    cid = created.json()["customer_id"]
    started = await client.post("/services/start", json={"service_type": 1, "customer_id": cid})
    assert started.status_code == 201
    page = (await client.get(f"/console/customers/{cid}")).text
    links = re.findall(r'<link rel="preload" as="fetch" crossorigin="anonymous" href="([^"]+)"/>', page)
    assert len(links) == 1 and links[0].startswith("/graphql?query=")
    url = html.unescape(links[0])
    assert parse_qs(urlsplit(url).query)["query"] == [FIRST_PAINT]
    got = await client.get(url)
    assert got.status_code == 200 and "errors" not in got.json()
    data = got.json()["data"]
    assert set(data) == {"businessAttributes", "identificationKeys", "profileAttributes", "extensionSchemas", "profile"}
    services = data["profile"]["services"]["edges"]
    assert [s["node"]["serviceId"] for s in services] == [started.json()["service_id"]]
    # Only a customer's address, and only when the page can ask without signing in.
    for other in ("/console", "/console/live", "/console/search?q=x", "/console/customers/"):
        assert 'rel="preload"' not in (await client.get(other)).text, other
    guarded = await make_client(config_text=CONFIG)
    assert 'rel="preload"' not in (await guarded.get(f"/console/customers/{cid}")).text


def test_the_preloaded_document_selects_what_the_modules_ask():
    timeline = (STATIC / "timeline.js").read_text()
    main = (STATIC / "main.js").read_text()
    assert f'const ITEM = "{ITEM}";' in timeline
    for part in ("serviceId serviceType ${ITEM}", "states { stateId stateType ${ITEM} }",
                 "tasks { taskId taskType stateId ${ITEM} }"):
        assert part in timeline and part.replace("${ITEM}", ITEM) in FIRST_PAINT
    for part in METADATA[1:]:
        assert f'"{part}"' in main and part in FIRST_PAINT
    assert '"businessAttributes"' in main
    page = "services(first: 100, after: $after) { edges { node { ${TIMELINE_FIELDS} } } pageInfo { hasNextPage endCursor } }"
    assert page in main and "profile(customerId: $id) { customerId attributes ${SERVICE_PAGE} }" in main
