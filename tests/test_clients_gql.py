"""Python `gql`, a standard GraphQL client, against the served app: queries and mutations over HTTP, and
queries, mutations and subscriptions over graphql-transport-ws (gql refuses binary WebSocket frames).

With access control on, a user bound to tenant 2 signs in and names its tenant in the connection_init payload,
as a browser must (it cannot set headers on a WebSocket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.test_access import _HASH, CONFIG, basic
from tests.test_subscriptions import SUBSCRIPTION, served_app

# A user of tenant 2 only, with every task.
TENANT2_CONFIG = CONFIG + f"""
[[users]]
name = "agent2"
password_hash = "{_HASH}"
roles = ["admins"]
tenants = [2]
"""

START = """mutation($input: ServiceStartInput!) { startService(input: $input) { serviceId customerId } }"""
STATUS = "{ serverStatus { mode } }"


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The app with users configured (agent2 bound to tenant 2), served by uvicorn in this process."""
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(TENANT2_CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def _wait_for_subscriber(rt: Any, before: int) -> None:
    events = rt.parts["events"]
    for _ in range(500):
        if events.subscribers > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started")


async def test_gql_over_http_runs_queries_and_mutations(guarded):
    transport = AIOHTTPTransport(url=guarded["http"] + "/graphql",
                                 headers={**basic("agent2"), "X-Genesys-TenantId": "2"})
    async with Client(transport=transport) as session:
        assert await session.execute(GraphQLRequest(STATUS)) == {"serverStatus": {"mode": "PRODUCTION"}}
        started = await session.execute(GraphQLRequest(START, variable_values={
            "input": {"serviceType": 1, "customerId": "H1"}}))
        assert started["startService"]["customerId"] == "H1"
    async with httpx.AsyncClient(base_url=guarded["http"]) as http:
        own = await http.get("/customers/H1/services", headers={**basic("root"), "X-Genesys-TenantId": "2"})
        assert [s["service_id"] for s in own.json()] == [started["startService"]["serviceId"]]
        other = await http.get("/customers/H1/services", headers=basic("root"))
        assert other.json() == []


async def test_gql_over_websocket_with_the_tenant_in_connection_init(guarded):
    transport = WebsocketsTransport(
        url=guarded["ws"], subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={**basic("agent2"), "X-Genesys-TenantId": "2"})
    rt = guarded["rt"]
    async with Client(transport=transport) as session:
        assert await session.execute(GraphQLRequest(STATUS)) == {"serverStatus": {"mode": "PRODUCTION"}}
        got: list[dict[str, Any]] = []

        async def listen() -> None:
            request = GraphQLRequest(SUBSCRIPTION, variable_values={"customerId": "W1"})
            async for result in session.subscribe(request):
                got.append(result["journeyEvents"])
                if len(got) == 2:
                    return

        before = rt.parts["events"].subscribers
        listener = asyncio.create_task(listen())
        await _wait_for_subscriber(rt, before)
        async with httpx.AsyncClient(base_url=guarded["http"]) as http:
            # Tenant 1's service of the same customer id is not tenant 2's event.
            assert (await http.post("/services/start", json={"service_type": 1, "customer_id": "W1"},
                                    headers=basic("root"))).status_code == 201
        first = await session.execute(GraphQLRequest(START, variable_values={
            "input": {"serviceType": 1, "customerId": "W1"}}))
        sid = first["startService"]["serviceId"]
        second = await session.execute(GraphQLRequest(START, variable_values={
            "input": {"serviceType": 2, "customerId": "W1"}}))
        await asyncio.wait_for(listener, timeout=10)
        assert [e["serviceId"] for e in got] == [sid, second["startService"]["serviceId"]]
        assert {e["kind"] for e in got} == {"SERVICE_STARTED"} and {e["customerId"] for e in got} == {"W1"}


async def test_gql_over_websocket_without_the_tenant_is_refused_for_a_user_of_tenant_2(guarded):
    transport = WebsocketsTransport(url=guarded["ws"], subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    init_payload=basic("agent2"))
    with pytest.raises(TransportConnectionFailed) as refused:
        async with Client(transport=transport) as session:
            await session.execute(GraphQLRequest(STATUS))
    closed = refused.value.__cause__
    assert isinstance(closed, websockets.ConnectionClosed), repr(closed)
    assert closed.rcvd is not None and closed.rcvd.code == 4403


async def test_gql_over_websocket_reports_field_errors(guarded):
    transport = WebsocketsTransport(url=guarded["ws"], subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    init_payload=basic("ann"))
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest(START, variable_values={"input": {"serviceType": 1}}))
    assert refused.value.errors is not None and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
