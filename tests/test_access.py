"""Authentication, roles, tenant binding and secrets through both front doors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator

import httpx

from tests import helpers
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.tasks import ALL_TASKS, READ_GEN_ADMIN_ROLE, READ_PROFILE_EXTENSION_SCHEMA, READ_SERVER_INFO

from .helpers import assert_error

PASSWORD = "correct horse"
TOKEN = "ivr.k3y-0f-the-ivr-that-is-long-enough"
_HASH = hash_secret(PASSWORD, ln=4)
_TOKEN_HASH = hash_secret(TOKEN, ln=4)

CONFIG = f"""
[[roles]]
name = "readers"
dbid = 110
tasks = {json.dumps([READ_SERVER_INFO, READ_PROFILE_EXTENSION_SCHEMA, READ_GEN_ADMIN_ROLE])}

[[roles]]
name = "admins"
dbid = 111
tasks = {json.dumps(sorted(ALL_TASKS))}

[[roles]]
name = "retired"
dbid = 112
enabled = false
tasks = {json.dumps(sorted(ALL_TASKS))}

[[users]]
name = "ann"
password_hash = "{_HASH}"
roles = ["readers"]
tenants = [1, 2]

[[users]]
name = "root"
password_hash = "{_HASH}"
roles = ["admins"]

[[users]]
name = "ghost"
password_hash = "{_HASH}"
roles = ["retired"]

[[users]]
name = "sleeper"
password_hash = "{_HASH}"
roles = ["admins"]
enabled = false

[[tokens]]
name = "ivr"
user = "ann"
token_hash = "{_TOKEN_HASH}"
"""


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    """An HTTP Basic Authorization header (this file's password by default)."""
    return helpers.basic(user, password)


def bearer(token: str = TOKEN) -> dict[str, str]:
    """A Bearer Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def gate_of(client):
    return client._transport.app.state.runtime.parts["gate"]


async def test_basic_and_bearer_both_sign_in(make_client):
    client = await make_client(config_text=CONFIG)
    assert (await client.get("/server/status", headers=basic("ann"))).status_code == 200
    assert (await client.get("/server/status", headers=bearer())).status_code == 200
    assert (await client.get("/server/status", headers={"authorization": f"bearer {TOKEN}"})).status_code == 200


async def test_wrong_or_malformed_credentials_are_401_with_a_challenge(make_client):
    client = await make_client(config_text=CONFIG)
    for headers in ({}, basic("ann", "n0t-it"), basic("nobody"), bearer("ivr.n0t-it"), bearer("unknown.x"),
                    {"Authorization": "Basic !!!"}, {"Authorization": "Basic " + base64.b64encode(b"ann").decode()},
                    {"Authorization": "Digest username=ann"}, {"Authorization": "Bearer "}, basic("sleeper")):
        resp = await client.get("/server/status", headers=headers)
        assert_error(resp, 401, 4010)
        assert resp.headers["www-authenticate"].startswith("Basic realm=")
        assert "n0t-it" not in resp.text and "ann" not in resp.text


async def test_a_token_of_a_disabled_user_is_refused(make_client):
    config = CONFIG.replace('name = "ivr"\nuser = "ann"', 'name = "ivr"\nuser = "sleeper"')
    client = await make_client(config_text=config)
    assert_error(await client.get("/server/status", headers=bearer()), 401, 4010)


async def test_a_disabled_role_grants_nothing(make_client):
    client = await make_client(config_text=CONFIG)
    resp = await client.get("/server/status", headers=basic("ghost"))
    assert_error(resp, 403, 4030, READ_SERVER_INFO)
    body = (await client.post("/graphql", json={"query": "{ serverStatus { mode } }"}, headers=basic("ghost"))).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_roles_group_tasks_and_users_hold_roles(make_client):
    client = await make_client(config_text=CONFIG)
    assert (await client.get("/metadata/profiles/extensions", headers=basic("ann"))).status_code == 200
    assert_error(await client.get("/metadata/services/extensions", headers=basic("ann")), 403, 4030,
                 "UCS.SchemaMgt.readServiceExtensionSchema")
    assert_error(await client.post("/server/mode", json={"mode": "production"}, headers=basic("ann")), 403, 4030,
                 "UCS.SystemMgt.changeServerMode")
    assert (await client.get("/metadata/services/extensions", headers=basic("root"))).status_code == 200


async def test_graphql_level_reads_need_the_level_task(make_client):
    client = await make_client(config_text=CONFIG)
    query = "query($l: ExtensionLevel!) { extensionSchemas(level: $l) { name } }"
    ok = (await client.post("/graphql", json={"query": query, "variables": {"l": "PROFILE"}}, headers=basic("ann")))
    assert ok.json() == {"data": {"extensionSchemas": []}}
    denied = await client.post("/graphql", json={"query": query, "variables": {"l": "SERVICE"}}, headers=basic("ann"))
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "UCS.SchemaMgt.readServiceExtensionSchema" in denied.json()["errors"][0]["message"]


async def test_metadata_roles_lists_the_configured_roles_in_the_reference_shape(make_client):
    client = await make_client(config_text=CONFIG)
    roles = (await client.get("/metadata/roles", headers=basic("ann"))).json()
    assert [r["role_name"] for r in roles] == ["readers", "admins", "retired"]
    assert roles[0] == {"role_DBID": 110, "role_enabled": True, "role_name": "readers", "tasks": [
        {"capableOf": True, "name": READ_SERVER_INFO}, {"capableOf": True, "name": READ_PROFILE_EXTENSION_SCHEMA},
        {"capableOf": True, "name": READ_GEN_ADMIN_ROLE}]}
    assert roles[2]["role_enabled"] is False


async def test_a_user_bound_to_tenants_gets_403_elsewhere(make_client):
    client = await make_client(config_text=CONFIG)
    for tenant in ("1", "2"):
        resp = await client.get("/server/status", headers={**basic("ann"), "X-Genesys-TenantId": tenant})
        assert resp.status_code == 200
    resp = await client.get("/metadata/profiles/extensions", headers={**basic("ann"), "X-Genesys-TenantId": "3"})
    assert_error(resp, 403, 4030, "tenant 3")
    resp = await client.post("/graphql", json={"query": "{ serverStatus { mode } }"},
                             headers={**bearer(), "X-Genesys-TenantId": "3"})
    assert resp.status_code == 403
    error = resp.json()["errors"][0]
    # The refusal names the tenants the user may use, so that a front-end can offer them.
    assert error["extensions"]["code"] == "FORBIDDEN" and error["extensions"]["tenants"] == [1, 2]
    assert error["message"].endswith("their tenants: 1, 2")
    # A refusal for the task, not the tenant, names none.
    resp = await client.post("/graphql", json={"query": "{ serverStatus { mode } }"}, headers=basic("ghost"))
    assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "tenants" not in resp.json()["errors"][0]["extensions"]
    # An unbound user reaches every tenant.
    resp = await client.get("/server/status", headers={**basic("root"), "X-Genesys-TenantId": "3"})
    assert resp.status_code == 200


async def test_tenant_binding_without_the_header_means_tenant_1(make_client):
    config = CONFIG.replace("tenants = [1, 2]", "tenants = [2]")
    client = await make_client(config_text=config)
    assert_error(await client.get("/server/status", headers=basic("ann")), 403, 4030, "tenant 1")
    assert (await client.get("/server/status", headers={**basic("ann"), "X-Genesys-TenantId": "2"})).status_code == 200


async def test_verified_credentials_are_cached_and_wrong_ones_too(make_client):
    client = await make_client(config_text=CONFIG)
    auth = gate_of(client).authenticator
    for _ in range(3):
        await client.get("/server/status", headers=basic("ann"))
        await client.get("/server/status", headers=basic("ann", "nope"))
    assert auth.slow_checks == 2  # one slow hash per distinct credential


async def test_requests_sent_together_with_one_new_credential_share_its_one_check(make_client):
    # A front-end's first page after a restart: a dozen requests at once, with credentials the server has not
    # verified yet. Each checking them on its own would reserve a failure of the login throttle (5 at once).
    client = await make_client(config_text=CONFIG)
    auth = gate_of(client).authenticator
    answers = await asyncio.gather(*(client.get("/server/status", headers=basic("ann")) for _ in range(12)))
    assert [r.status_code for r in answers] == [200] * 12
    assert auth.slow_checks == 1 and auth.throttled == 0
    # Wrong ones sent together are one failure, answered 401 alike; the next guess is checked on its own.
    answers = await asyncio.gather(*(client.get("/server/status", headers=basic("ann", "nope")) for _ in range(12)))
    assert [r.status_code for r in answers] == [401] * 12
    assert auth.slow_checks == 2
    assert (await client.get("/server/status", headers=basic("ann", "nope2"))).status_code == 401
    assert auth.slow_checks == 3


async def test_a_check_shared_by_requests_sent_together_is_one_per_client_address(make_client):
    client = await make_client(config_text=CONFIG, login_failures_burst=1)
    elsewhere = httpx.AsyncClient(transport=httpx.ASGITransport(app=client._transport.app, client=("10.0.0.2", 1)),
                                  base_url="http://testserver")
    # One wrong guess uses up ann's allowance from this client's address, not from the other one.
    assert (await client.get("/server/status", headers=basic("ann", "nope"))).status_code == 401
    answers = await asyncio.gather(client.get("/server/status", headers=basic("ann")),
                                   elsewhere.get("/server/status", headers=basic("ann")))
    assert [r.status_code for r in answers] == [429, 200]
    await elsewhere.aclose()


async def test_anonymous_requests_are_refused_before_the_body_is_read(make_client):
    client = await make_client(config_text=CONFIG)
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"x")
        yield b"{not json"

    resp = await client.post("/metadata/profiles/extensions", content=body(),
                             headers={"content-type": "application/json"})
    assert_error(resp, 401, 4010)
    resp = await client.post("/graphql", content=body(), headers={"content-type": "application/json"})
    assert resp.status_code == 401
    assert read == []


async def test_documentation_is_public_and_unknown_paths_need_credentials(make_client):
    client = await make_client(config_text=CONFIG)
    assert (await client.get("/openapi.json")).status_code == 200
    assert_error(await client.get("/no/such/path"), 401, 4010)
    assert_error(await client.get("/no/such/path", headers=basic("ann")), 404, 4041)


async def test_without_users_the_server_runs_open(client):
    assert (await client.get("/server/status")).status_code == 200
    assert gate_of(client).open


async def test_credentials_never_reach_the_logs(make_client, caplog):
    client = await make_client(config_text=CONFIG, access_log=True)
    with caplog.at_level(logging.INFO):
        await client.get("/server/status?password=hunter2&token=abc123", headers=basic("ann"))
        await client.get("/server/status", headers=basic("ann", "hunter3"))
        await client.get("/server/status", headers=bearer())
        await client.get("/server/status", headers=basic("hunter4"))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ucs"))
    assert "/server/status" in text and "authentication failed" in text
    encoded = base64.b64encode(f"ann:{PASSWORD}".encode()).decode()
    for secret in ("hunter2", "hunter3", "hunter4", "abc123", TOKEN, PASSWORD, encoded, "Authorization"):
        assert secret not in text, secret


async def test_websocket_handshake_needs_credentials(make_client):
    client = await make_client(config_text=CONFIG)
    app = client._transport.app
    sent: list[dict] = []

    async def handshake(headers: list[tuple[bytes, bytes]]) -> list[dict]:
        sent.clear()
        messages = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
                 "headers": [(b"host", b"testserver"), (b"sec-websocket-protocol", b"graphql-transport-ws"),
                             *headers], "query_string": b"", "subprotocols": ["graphql-transport-ws"],
                 "scheme": "ws", "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
        await app(scope, receive, send)
        return sent

    wrong = basic("ann", "not the password")["Authorization"].encode()
    refused = await handshake([(b"authorization", wrong)])
    assert refused[0] == {"type": "websocket.close", "code": 1008}
    auth = basic("ann")["Authorization"].encode()
    accepted = await handshake([(b"authorization", auth)])
    assert accepted[0]["type"] == "websocket.accept"
    # Without the header the handshake is accepted and the credentials are due in connection_init
    # (tests/test_subscriptions_auth.py).
    deferred = await handshake([])
    assert deferred[0]["type"] == "websocket.accept"
