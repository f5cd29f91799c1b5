"""`viewer` over GraphQL over HTTP and WebSocket: who calls, the tasks they hold and the tenants they may use,
for any signed-in caller (no task needed); with access control off, an anonymous caller holding every task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import websockets

from tests.helpers import gql
from tests.test_access import CONFIG, basic, bearer
from tests.test_subscriptions import recv_text, served_app
from ucs_graphql.access.tasks import ALL_TASKS, READ_GEN_ADMIN_ROLE, READ_PROFILE_EXTENSION_SCHEMA, READ_SERVER_INFO

VIEWER = "{ viewer { name tasks tenants tenant anonymous } }"
READERS = sorted([READ_SERVER_INFO, READ_PROFILE_EXTENSION_SCHEMA, READ_GEN_ADMIN_ROLE])


async def test_each_user_sees_their_own_name_tasks_and_tenants(make_client):
    client = await make_client(config_text=CONFIG)
    got = await gql(client, VIEWER, headers={**basic("ann"), "X-Genesys-TenantId": "2"})
    assert got == {"data": {"viewer": {"name": "ann", "tasks": READERS, "tenants": [1, 2], "tenant": 2,
                                       "anonymous": False}}}
    got = await gql(client, VIEWER, headers=basic("root"))
    assert got == {"data": {"viewer": {"name": "root", "tasks": sorted(ALL_TASKS), "tenants": None, "tenant": 1,
                                       "anonymous": False}}}
    # A token acts as its user; a user whose only role is disabled holds no task and still sees itself.
    got = await gql(client, VIEWER, headers=bearer())
    assert got["data"]["viewer"]["name"] == "ann" and got["data"]["viewer"]["tasks"] == READERS
    got = await gql(client, VIEWER, headers={**basic("ghost"), "X-Genesys-TenantId": "7"})
    assert got == {"data": {"viewer": {"name": "ghost", "tasks": [], "tenants": None, "tenant": 7,
                                       "anonymous": False}}}
    # Beside a field the caller may not read, the whole document is refused, as always.
    got = await gql(client, "{ viewer { name } serverStatus { mode } }", headers=basic("ghost"))
    assert got.get("data") is None and got["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "Query.serverStatus" in got["errors"][0]["message"] and "viewer" not in got["errors"][0]["message"]


async def test_viewer_needs_credentials(make_client):
    client = await make_client(config_text=CONFIG)
    resp = await client.post("/graphql", json={"query": VIEWER})
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    resp = await client.post("/graphql", json={"query": VIEWER}, headers={**basic("ann"), "X-Genesys-TenantId": "3"})
    assert resp.status_code == 403  # ann may not use tenant 3: refused at the door, viewer or not


async def test_without_access_control_the_viewer_is_anonymous_with_every_task(client):
    got = await gql(client, VIEWER, headers={"X-Genesys-TenantId": "5"})
    assert got == {"data": {"viewer": {"name": None, "tasks": sorted(ALL_TASKS), "tenants": None, "tenant": 5,
                                       "anonymous": True}}}


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path):
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def test_a_browser_websocket_sees_the_tenant_and_user_of_its_connection_init(guarded):
    ws = await websockets.connect(guarded["ws"], subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {**basic("ann"), "X-Genesys-TenantId": "2"}}))
    assert (await recv_text(ws))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}))
    msg = await recv_text(ws)
    assert msg == {"id": "1", "type": "next", "payload": {"data": {"viewer": {
        "name": "ann", "tasks": READERS, "tenants": [1, 2], "tenant": 2, "anonymous": False}}}}
    await ws.close()
