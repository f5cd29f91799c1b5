"""Operations over WebSocket are limited per connection and per process, count against the request rate,
and show in `ucs_graphql_subscriptions_active` while they run."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import websockets

from tests.test_subscriptions import SUBSCRIPTION, served_app


async def connect(url: str) -> Any:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def subscribe(ws: Any, op_id: str) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe",
                              "payload": {"query": SUBSCRIPTION, "variables": {"customerId": op_id}}}))


async def settled(ws: Any) -> list[dict[str, Any]]:
    """Every message the server sent before answering a ping (it handles messages in order)."""
    await ws.send(json.dumps({"type": "ping"}))
    got = []
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if msg["type"] == "pong":
            return got
        got.append(msg)


async def active(http: str) -> int:
    text = (await httpx.AsyncClient(base_url=http).get("/metrics")).text
    found = re.search(r"^ucs_graphql_subscriptions_active (\S+)$", text, re.M)
    assert found, text
    return int(float(found.group(1)))


async def until_active(http: str, expected: int) -> int:
    """The gauge once it shows `expected` (operations end in their own tasks after a close), or its last value."""
    for _ in range(200):
        got = await active(http)
        if got == expected:
            return got
        await asyncio.sleep(0.02)
    return got


def refused(messages: list[dict[str, Any]], op_id: str) -> dict[str, Any]:
    """The extensions of the error message that refused `op_id`."""
    assert [m["type"] for m in messages] == ["error"] and messages[0]["id"] == op_id, messages
    extensions: dict[str, Any] = messages[0]["payload"][0]["extensions"]
    return extensions


async def test_subscriptions_per_connection_and_the_gauge(database_url):
    async with served_app(database_url, max_subscriptions_per_connection=2) as served:
        assert await active(served["http"]) == 0
        ws = await connect(served["ws"])
        await subscribe(ws, "a")
        await subscribe(ws, "b")
        await subscribe(ws, "c")
        ext = refused(await settled(ws), "c")
        assert ext["code"] == "TOO_MANY_REQUESTS" and ext["status"] == 429
        assert await active(served["http"]) == 2
        await ws.send(json.dumps({"id": "a", "type": "complete"}))
        assert await until_active(served["http"], 1) == 1
        await subscribe(ws, "c")
        assert await settled(ws) == []
        assert await active(served["http"]) == 2
        await ws.close()
        assert await until_active(served["http"], 0) == 0
        assert served["rt"].parts["events"].subscribers == 0


async def test_subscriptions_per_process(database_url):
    async with served_app(database_url, max_subscriptions=3) as served:
        first, second = await connect(served["ws"]), await connect(served["ws"])
        for op_id in ("a", "b"):
            await subscribe(first, op_id)
        assert await settled(first) == []
        await subscribe(second, "c")
        await subscribe(second, "d")
        ext = refused(await settled(second), "d")
        assert ext["code"] == "SERVICE_UNAVAILABLE" and ext["retryAfter"] >= 1
        assert await active(served["http"]) == 3
        await first.close()
        assert await until_active(served["http"], 1) == 1
        await subscribe(second, "d")
        assert await settled(second) == []
        await second.close()
        assert await until_active(served["http"], 0) == 0


async def test_websocket_operations_count_against_the_rate_limit(database_url):
    async with served_app(database_url, rate_limit_per_minute=3) as served:
        ws = await connect(served["ws"])  # the handshake is one request
        await subscribe(ws, "a")
        await subscribe(ws, "b")
        await subscribe(ws, "c")
        ext = refused(await settled(ws), "c")
        assert ext["code"] == "SERVICE_UNAVAILABLE" and ext["retryAfter"] >= 1
        async with httpx.AsyncClient(base_url=served["http"]) as http:
            assert (await http.get("/server/status")).status_code == 503  # the same client's allowance is spent
        await ws.close()

