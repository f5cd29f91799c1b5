"""What the server must not give away or let grow: forged log lines, per-tenant schema copies, every tenant's
metrics to a tenant's user, field names through "Did you mean" when introspection is off."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_error, basic, gql
from tests.test_operability import capture_logs  # noqa: F401  (fixture)
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.tasks import READ_SERVER_INFO
from ucs_graphql.web.logging import one_line

PASSWORD = "correct horse"
_HASH = hash_secret(PASSWORD, ln=4)

CONFIG = f"""
[[roles]]
name = "operators"
dbid = 120
tasks = {json.dumps([READ_SERVER_INFO])}

[[roles]]
name = "agents"
dbid = 121
tasks = ["UCS.Customer.readProfile"]

[[users]]
name = "ops"
password_hash = "{_HASH}"
roles = ["operators"]

[[users]]
name = "tenant_ops"
password_hash = "{_HASH}"
roles = ["operators"]
tenants = [1]

[[users]]
name = "agent"
password_hash = "{_HASH}"
roles = ["agents"]
"""

FORGED = "12:00:00.000 Std 1 [forged] 2026-01-01 12:00:00 10.0.0.1 8080 POST /server/mode - 200 - 0 1 x y -"


@pytest.mark.parametrize("fmt", ["ucs", "json"])
async def test_a_crlf_in_the_path_cannot_forge_a_log_line(make_client, capture_logs, fmt):  # noqa: F811
    stream = capture_logs(fmt)
    client = await make_client(access_log=True, log_format=fmt)
    # Header values cannot hold CR or LF; an agent may still hold NEL (0x85) and terminal escapes (0x1b).
    resp = await client.get("/profiles/x%0d%0a" + FORGED.replace(" ", "%20"),
                            headers={"User-Agent": b"agent\x85\x1b[2J"})
    assert resp.status_code == 404
    lines = [line for line in stream.getvalue().splitlines() if "forged" in line and "httpx" not in line]
    assert len(lines) == 1, stream.getvalue()
    assert not lines[0].startswith("12:00:00.000 Std 1 [forged]")
    if fmt == "ucs":
        assert "/profiles/x\\x0d\\x0a12:00:00.000" in lines[0] and "agent\\x85\\x1b[2J" in lines[0]
    else:
        assert json.loads(lines[0])["url"].startswith("/profiles/x\r\n12:00")


def test_one_line_escapes_control_characters_only():
    assert one_line("caf\u00e9 /a?b=1") == "caf\u00e9 /a?b=1"
    assert one_line("a\rb\nc\td\x00e\x7f\u0085\u2029") == "a\\x0db\\x0ac\\x09d\\x00e\\x7f\\x85\\u2029"


async def test_the_schema_cache_is_bounded_and_empty_tenants_share_the_builtin_schemas(make_client):
    client = await make_client(schema_cache_tenants=3)
    cache = client._transport.app.state.runtime.schemas
    assert (await client.post("/metadata/profiles/extensions", json={"name": "VIP", "type": "classifier"},
                              headers={"X-Genesys-TenantId": "7"})).status_code == 201
    for tenant in range(1, 41):
        resp = await client.get("/metadata/profiles/extensions", headers={"X-Genesys-TenantId": str(tenant)})
        assert resp.status_code == 200
        assert [s["name"] for s in resp.json()] == (["VIP"] if tenant == 7 else [])
        assert len(cache) <= 3 and cache.built() <= 2
    assert cache.built() == 1  # tenants 38-40: no stored documents, one shared copy
    # A dropped tenant is read again from the database.
    resp = await client.get("/metadata/profiles/extensions", headers={"X-Genesys-TenantId": "7"})
    assert [s["name"] for s in resp.json()] == ["VIP"] and cache.built() == 2 and len(cache) == 3


async def test_metrics_need_the_server_task_and_no_tenant_binding(make_client):
    client = await make_client(config_text=CONFIG)
    assert (await client.get("/metrics", headers=basic("ops", PASSWORD))).status_code == 200
    assert_error(await client.get("/metrics", headers=basic("tenant_ops", PASSWORD)), 403, 4030, "bound to tenants")
    assert_error(await client.get("/metrics", headers=basic("agent", PASSWORD)), 403, 4030, READ_SERVER_INFO)
    assert_error(await client.get("/metrics"), 401, 4010)


MISSPELT = [
    ("{ serverStatus { mod } }", "mode"),
    ("{ serverStatu { mode } }", "serverStatus"),
    ('mutation { setServerMode(mod: MAINTENANCE) }', "mode"),
    ("mutation { setServerMode(mode: MAINTENANC) }", "MAINTENANCE"),
    ("mutation($m: ServerMod!) { setServerMode(mode: $m) }", "ServerMode"),
]


@pytest.mark.parametrize(("query", "field"), MISSPELT)
async def test_no_suggestions_name_the_schema_when_introspection_is_off(make_client, query, field):
    opened = await gql(await make_client(), query)
    assert any("Did you mean" in e["message"] and field in e["message"] for e in opened["errors"]), opened
    closed = await gql(await make_client(graphql_introspection=False), query)
    assert closed["errors"] and all("Did you mean" not in e["message"] for e in closed["errors"]), closed


async def test_no_suggestions_for_a_variable_value_when_introspection_is_off(make_client):
    query = "mutation($m: ServerMode!) { setServerMode(mode: $m) }"
    opened = await gql(await make_client(), query, {"m": "MAINTENANC"})
    assert "Did you mean" in opened["errors"][0]["message"]
    closed = await gql(await make_client(graphql_introspection=False), query, {"m": "MAINTENANC"})
    assert closed["errors"] and all("Did you mean" not in e["message"] for e in closed["errors"]), closed
    assert (await gql(await make_client(graphql_introspection=False), query, {"m": "PRODUCTION"})) == {
        "data": {"setServerMode": "PRODUCTION"}}
