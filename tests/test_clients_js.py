"""The JavaScript `graphql-ws` client (the one Apollo GraphQLWsLink, urql and Relay use) under Node.js against
the served app: a query, a subscription and a mutation over graphql-transport-ws, signed in and bound to
tenant 2 through the connection_init payload, as a browser does (tests/js/graphql-ws-client.mjs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.js_clients import JS_DIR, node_and_clients
from tests.test_access import basic
from tests.test_clients_gql import START, STATUS, TENANT2_CONFIG
from tests.test_subscriptions import SUBSCRIPTION, served_app


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, with tests/js's packages installed."""
    return node_and_clients()


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(TENANT2_CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def _line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
    assert raw, "graphql-ws-client.mjs ended early"
    line: dict[str, Any] = json.loads(raw)
    return line


async def _start(node: str, served: dict[str, Any], params: dict[str, Any]) -> asyncio.subprocess.Process:
    plan = {"url": served["ws"], "connectionParams": params, "query": STATUS, "events": 2,
            "subscription": {"query": SUBSCRIPTION, "variables": {"customerId": "J1"}},
            "mutation": {"query": START, "variables": {"input": {"serviceType": 1, "customerId": "J1"}}}}
    return await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "graphql-ws-client.mjs"), json.dumps(plan), cwd=JS_DIR,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_graphql_ws_client_queries_subscribes_and_mutates_for_tenant_2(node, guarded):
    rt = guarded["rt"]
    before = rt.parts["events"].subscribers
    proc = await _start(node, guarded, {**basic("agent2"), "X-Genesys-TenantId": "2"})
    try:
        assert await _line(proc) == {"step": "query", "result": {"data": {"serverStatus": {"mode": "PRODUCTION"}}}}
        assert (await _line(proc))["step"] == "subscribed"
        for _ in range(500):
            if rt.parts["events"].subscribers > before:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=guarded["http"]) as http:
            # Tenant 1's service of the same customer id is not tenant 2's event; tenant 2's REST write is.
            assert (await http.post("/services/start", json={"service_type": 1, "customer_id": "J1"},
                                    headers=basic("root"))).status_code == 201
            rest = await http.post("/services/start", json={"service_type": 2, "customer_id": "J1"},
                                   headers={**basic("agent2"), "X-Genesys-TenantId": "2"})
            assert rest.status_code == 201, rest.text
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        mutation = await _line(proc)
        assert mutation["step"] == "mutation" and "errors" not in mutation["result"], mutation
        events = await _line(proc)
        assert events["step"] == "events", events
        got = [e["data"]["journeyEvents"] for e in events["events"]]
        assert [e["serviceId"] for e in got] == [rest.json()["service_id"],
                                                 mutation["result"]["data"]["startService"]["serviceId"]]
        assert {e["customerId"] for e in got} == {"J1"}
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("params", [
    basic("agent2"),  # agent2 may not use tenant 1, the tenant when the payload names none
    {"X-Genesys-TenantId": "2"},
    {"Authorization": "Basic bm9ib2R5Om5vcGU=", "X-Genesys-TenantId": "2"},
], ids=["tenant-1", "no-credentials", "unknown-user"])
async def test_graphql_ws_client_is_refused_without_credentials_for_the_tenant(node, guarded, params):
    proc = await _start(node, guarded, params)
    try:
        closed = await _line(proc)
        assert closed["step"] == "closed" and closed["code"] == 4403, closed
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 3
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
