"""Browsers as attackers: cross-site requests (Origin), DNS rebinding (Host), JSON without its Content-Type,
on both doors and over WebSocket."""

from __future__ import annotations

import base64
import json
import re

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.helpers import assert_error
from tests.test_interactions import body
from tests.test_subscriptions import served_app
from ucs_graphql.config import Settings
from ucs_graphql.web.site import Site, default_hosts

EVIL = "https://evil.example"
MODE = ("POST", "/server/mode", {"mode": "maintenance"})
QUERY = {"query": "{ serverStatus { mode } }"}


async def _mode_is(client, mode: str) -> None:
    assert (await client.get("/server/status")).json()["mode"] == mode


@pytest.mark.parametrize("origin", [EVIL, "null", "http://testserver.evil.example", "https://testserver",
                                    "http://testserver:8080", "file://", "chrome-extension://abc"])
async def test_a_page_of_another_origin_cannot_switch_the_mode(client, origin):
    resp = await client.post("/server/mode", json={"mode": "maintenance"}, headers={"Origin": origin})
    assert_error(resp, 403, 4030, "origin")
    await _mode_is(client, "production")


async def test_a_page_of_another_origin_cannot_run_graphql(client):
    resp = await client.post("/graphql", json={"query": 'mutation { setServerMode(mode: MAINTENANCE) }'},
                             headers={"Origin": EVIL})
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    resp = await client.get("/graphql", params=QUERY, headers={"Origin": "null"})
    assert resp.status_code == 403
    await _mode_is(client, "production")


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://testserver"}, {"Origin": "HTTP://TestServer:80"}])
async def test_scripts_and_pages_of_the_server_itself_are_served(client, headers):
    assert (await client.post("/graphql", json=QUERY, headers=headers)).json() == {
        "data": {"serverStatus": {"mode": "PRODUCTION"}}}
    resp = await client.post("/server/mode", json={"mode": "maintenance"}, headers=headers)
    assert resp.status_code == 200, resp.text
    await _mode_is(client, "maintenance")


async def test_a_configured_cors_origin_is_served_and_no_other(make_client):
    client = await make_client(cors_origins=["https://console.example.com"])
    ok = await client.post("/graphql", json=QUERY, headers={"Origin": "https://console.example.com:443"})
    assert ok.status_code == 200 and ok.json()["data"]["serverStatus"]["mode"] == "PRODUCTION"
    assert (await client.get("/server/status", headers={"Origin": "http://console.example.com"})).status_code == 403


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_json_body_without_its_content_type_is_415(client, ctype):
    """The bodies a page may send without asking the server first; clients without Origin get the same 415."""
    headers = {"Content-Type": ctype} if ctype else {}
    resp = await client.post("/server/mode", content=json.dumps({"mode": "maintenance"}), headers=headers)
    assert_error(resp, 415, 4150, "Content-Type")
    await _mode_is(client, "production")
    resp = await client.post("/profiles", content=b'{"FirstName": "Ann"}', headers=headers)
    assert_error(resp, 415, 4150)


async def test_another_host_name_is_refused_on_both_doors(client):
    """DNS rebinding: the page's own name arrives as Host (and same-origin reads send no Origin)."""
    rebound = {"Host": "evil.example:8080"}
    assert_error(await client.get("/server/status", headers=rebound), 400, 4000, "evil.example")
    resp = await client.post("/graphql", json=QUERY, headers=rebound)
    assert resp.status_code == 400 and resp.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert (await client.get("/healthz", headers=rebound)).status_code == 200


async def test_the_default_host_list_is_the_listen_address_and_loopback(make_client):
    client = await make_client(allowed_hosts=())
    for host in ("localhost", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST."):
        assert (await client.get("/server/status", headers={"Host": host})).status_code == 200, host
    for host in ("testserver", "evil.example", "localhost.evil.example", "127.0.0.1.nip.io"):
        assert (await client.get("/server/status", headers={"Host": host})).status_code == 400, host
    site = Site(Settings(host="10.1.2.3"))
    assert site.host_allowed("10.1.2.3:8080") and not site.host_allowed("10.1.2.4")
    assert {"localhost", "127.0.0.1", "::1"} <= default_hosts("0.0.0.0")
    # Listening on every address: the address a connection arrived at is served too, other names are not.
    anywhere = Site(Settings(host="0.0.0.0"))
    assert anywhere.host_allowed("192.0.2.2:8080", "192.0.2.2") and not anywhere.host_allowed("evil.example", "192.0.2.2")
    assert not site.host_allowed("10.1.2.4", "10.1.2.4")  # a given listen address is the only one


async def test_configured_hosts_domains_and_any(make_client):
    client = await make_client(allowed_hosts=[".example.com", "ucs.internal"])
    for host, status in (("example.com", 200), ("a.b.example.com", 200), ("ucs.internal:80", 200),
                         ("localhost", 400), ("badexample.com", 400)):
        assert (await client.get("/server/status", headers={"Host": host})).status_code == status, host
    assert Site(Settings(allowed_hosts=("*",))).host_allowed("anything.example")


async def test_a_websocket_from_another_origin_is_refused(database_url):
    async with served_app(database_url) as served:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(served["ws"], subprotocols=["graphql-transport-ws"], origin=EVIL)
        assert refused.value.response.status_code == 403
        own = served["http"]
        ws = await websockets.connect(served["ws"], subprotocols=["graphql-transport-ws"], origin=own)
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.close()


async def test_stored_html_and_svg_never_run_as_pages_of_the_server(client):
    """Client-supplied bytes with a client-supplied MIME type: sandboxed, not sniffed, binary as a download."""
    page = b"<html><script>fetch('/server/mode',{method:'POST'})</script></html>"
    for mime in ("text/html", "image/svg+xml"):
        sent = body(7, binary_content=base64.b64encode(page).decode(), binary_content_mime=mime,
                    structured_text=page.decode(), structured_text_mime=mime)
        iid = (await client.post("/interactions", json=sent)).json()["interaction_id"]
        for part, download in (("binary_content", True), ("structured_text", False)):
            resp = await client.get(f"/interactions/{iid}/{part}")
            assert resp.status_code == 200 and resp.content == page
            csp = resp.headers["content-security-policy"]
            assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "script" not in csp, csp
            assert resp.headers["x-content-type-options"] == "nosniff"
            assert (resp.headers.get("content-disposition") == "attachment") is download, part
    iid = (await client.post("/interactions", json=body(7, text="hi"))).json()["interaction_id"]
    plain = await client.get(f"/interactions/{iid}/plain_text")
    assert plain.headers["x-content-type-options"] == "nosniff" and "sandbox" in plain.headers["content-security-policy"]


@pytest.mark.parametrize(("path", "headers"), [
    ("/docs", {}), ("/metadata", {"Accept": "text/html"}), ("/graphql", {"Accept": "text/html"}),
])
async def test_html_pages_carry_a_policy_and_may_not_be_framed(make_client, path, headers):
    client = await make_client(base_path="/cv")
    for prefix in ("", "/cv"):
        resp = await client.get(prefix + path, headers=headers)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), resp.text
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        csp = resp.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        scripts = re.findall(r"<script\b[^>]*>", resp.text)
        if not scripts:
            assert "script-src" not in csp
            continue
        # GraphiQL runs under its policy: no inline script, every script from the server itself.
        allowed = csp.split("script-src ", 1)[1].split(";", 1)[0].split()
        assert allowed == ["'self'"]
        assert re.findall(r"<script>", resp.text) == []
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', resp.text):
            assert src.startswith(prefix + "/graphiql/"), src
            assert (await client.get(src)).status_code == 200, src
