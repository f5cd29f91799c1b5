"""Errors everywhere: unknown paths, methods, tenants, base path and trailing slashes."""

from __future__ import annotations

import httpx

from tests.helpers import assert_error


async def test_unknown_path_is_404_error_object(client):
    assert_error(await client.get("/no/such/thing"), 404, 4041)


async def test_wrong_method_is_405_with_allow(client):
    resp = await client.delete("/metadata/profiles/extensions")
    assert_error(resp, 405, 4050)
    assert resp.headers["allow"] == "GET, POST"


async def test_trailing_slash_is_optional(client):
    assert (await client.get("/metadata/profiles/extensions/")).status_code == 200
    assert (await client.get("/server/status/")).status_code == 200


async def test_base_path_serves_every_path_too(make_client):
    client = await make_client(base_path="/cv")
    assert (await client.get("/cv/server/status")).status_code == 200
    assert (await client.get("/server/status")).status_code == 200
    resp = await client.post("/cv/server/mode", json={"mode": "production"})
    assert resp.headers["location"] == "/cv/server/status"


async def test_an_app_mounted_under_a_root_path_serves_every_path_below_it(make_client):
    """Mounted in another ASGI app (scope root_path), REST routes match below the root path as GraphQL and
    the operational paths do, and Location names the mounted path."""
    app = (await make_client(base_path="/cv"))._transport.app
    mounted = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, root_path="/ucs"), base_url="http://testserver")
    assert (await mounted.get("/ucs/server/status")).json()["mode"] == "production"
    assert (await mounted.get("/ucs/cv/metadata/profiles/extensions/")).json() == []
    assert_error(await mounted.get("/ucs/profiles/nobody"), 404, 4040, "nobody")
    resp = await mounted.post("/ucs/cv/server/mode", json={"mode": "maintenance"})
    assert resp.headers["location"] == "/ucs/cv/server/status"
    assert (await mounted.post("/ucs/graphql", json={"query": "{ serverStatus { mode } }"})).status_code == 200


async def test_tenant_header_must_be_an_integer(client):
    resp = await client.get("/metadata/profiles/extensions", headers={"X-Genesys-TenantId": "abc"})
    assert_error(resp, 400, 4020, "X-Genesys-TenantId")


async def test_tenants_are_isolated(client):
    body = {"name": "Loyalty", "type": "single-valued", "attributes": [{"name": "level", "type": "integer"}]}
    resp = await client.post("/metadata/profiles/extensions", json=body, headers={"X-Genesys-TenantId": "2"})
    assert resp.status_code == 201
    assert (await client.get("/metadata/profiles/extensions/loyalty", headers={"X-Genesys-TenantId": "2"})).status_code == 200
    assert_error(await client.get("/metadata/profiles/extensions/loyalty"), 404, 4040)
    resp = await client.post("/metadata/profiles/extensions", json=body)
    assert resp.status_code == 201  # the same name in tenant 1 is a different schema


async def test_request_id_is_echoed(client):
    resp = await client.get("/server/status", headers={"X-Request-Id": "abc123"})
    assert resp.headers["x-request-id"] == "abc123"
    assert len((await client.get("/server/status")).headers["x-request-id"]) == 16


async def test_the_access_line_names_tenant_and_segment(make_client, caplog):
    import logging

    client = await make_client(access_log=True)
    with caplog.at_level(logging.INFO, logger="ucs.access"):
        await client.get("/server/status", headers={"X-Genesys-TenantId": "7", "X-Genesys-Segment": "gold"})
        await client.get("/server/status")
    lines = [r.getMessage() for r in caplog.records if r.name == "ucs.access"]
    assert lines[0].endswith(" tenant=7,segment=gold"), lines
    assert " GET /server/status - 200 - 0 " in lines[1] and lines[1].endswith(" -"), lines


async def _gone_mid_body(app, path: str) -> list[int]:
    """POST `path` through the ASGI app with a client that sends part of its body and closes the connection;
    the statuses the app sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", b"200")],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    messages = [{"type": "http.request", "body": b'{"service_type":1,', "more_body": True},
                {"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0) if len(messages) > 1 else messages[0]

    sent: list[int] = []

    async def send(message):
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    await app(scope, receive, send)
    return sent


async def test_a_client_gone_before_its_body_ended_is_no_server_error(make_client, caplog):
    """A client that closes the connection mid-body (REST or GraphQL) leaves one info line and a 499 in the
    metrics, not an error with a traceback for the operator."""
    client = await make_client()
    app = client._transport.app
    caplog.set_level("INFO", logger="ucs")
    for path in ("/services/start", "/graphql"):
        assert await _gone_mid_body(app, path) == [499]
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert errors == []
    gone = [r for r in caplog.records if "closed the connection before the request's body" in r.getMessage()]
    assert len(gone) == 2
    metrics = (await client.get("/metrics")).text
    assert 'status="499"' in metrics
