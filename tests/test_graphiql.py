"""GraphiQL's page and files over HTTP: served from the package, anonymously, under a policy allowing no other
origin; shown only to a browser asking for HTML; a 401 to the page's own requests opens no password prompt.
tests/test_graphiql_browser.py runs the page in Chromium."""

from __future__ import annotations

import re

from tests.test_access import CONFIG, basic
from ucs_graphql.web.graphiql import STATIC

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_the_page_and_its_files_are_served_anonymously_from_the_package(make_client):
    client = await make_client(config_text=CONFIG)
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert "worker-src 'self' blob:" in csp and "frame-ancestors 'none'" in csp
    assert "://" not in csp and "*" not in csp
    assert "://" not in page.text  # every script and style comes from this server
    assets = re.findall(r'(?:src|href)="(/graphiql/[^"]+)"', page.text)
    assert len(assets) == 8
    for asset in assets:
        got = await client.get(asset)
        assert got.status_code == 200, asset
        assert got.content == (STATIC / asset.removeprefix("/graphiql/")).read_bytes()
    assert (await client.get("/graphiql/vendor/licences/graphiql-3.8.3.LICENSE")).status_code == 200
    assert (await client.get("/graphiql/nope.js")).status_code == 404


async def test_every_vendored_file_has_its_licence_and_pinned_version():
    vendor = STATIC / "vendor"
    versions = (vendor / "VERSIONS").read_text()
    for pinned in ("react@18.2.0", "react-dom@18.2.0", "graphiql@3.8.3", "@graphiql/plugin-explorer@1.0.2"):
        assert pinned in versions
        name = pinned.removeprefix("@graphiql/").replace("plugin-explorer", "graphiql-plugin-explorer")
        assert "MIT License" in (vendor / "licences" / f"{name.replace('@', '-')}.LICENSE").read_text()
    for built in vendor.glob("*.js"):
        assert built.name in versions
        assert "sourceMappingURL" not in built.read_text()


async def test_graphiql_only_for_a_browser_asking_for_html(client):
    assert (await client.get("/graphql", headers=HTML)).headers["content-type"].startswith("text/html")
    for accept in ("*/*", "application/json", "application/graphql-response+json"):
        got = await client.get("/graphql", headers={"Accept": accept})
        assert not got.headers.get("content-type", "").startswith("text/html"), accept
    query = await client.get("/graphql", params={"query": "{ serverStatus { mode } }"}, headers=HTML)
    assert query.json() == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}


async def test_a_401_to_the_pages_own_requests_has_no_basic_challenge(make_client):
    client = await make_client(config_text=CONFIG)
    query = {"query": "{ serverStatus { mode } }"}
    plain = await client.post("/graphql", json=query)
    assert plain.status_code == 401 and plain.headers["www-authenticate"].startswith("Basic realm=")
    marked = await client.post("/graphql", json=query, headers={"X-Requested-With": "GraphiQL"})
    assert marked.status_code == 401 and marked.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert marked.headers["www-authenticate"] == 'Bearer realm="ucs"'
    rest = await client.get("/server/status", headers={"X-Requested-With": "XMLHttpRequest"})
    assert rest.status_code == 401 and "basic" not in rest.headers["www-authenticate"].lower()
    signed = await client.post("/graphql", json=query, headers={**basic("ann"), "X-Requested-With": "GraphiQL"})
    assert signed.json() == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}
    # The page is anonymous; GraphQL by GET is not.
    assert (await client.get("/graphql", params=query, headers=HTML)).status_code == 401
