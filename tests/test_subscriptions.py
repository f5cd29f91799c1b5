"""Live journey events over graphql-transport-ws, with the app served by uvicorn on a free port.

Writes go through the REST path; a second worker (another runtime on the same database) writes too, and its
events reach the subscriber through LISTEN/NOTIFY (PostgreSQL) or the event outbox (SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from bench.net import free_port
from tests.conftest import wipe
from ucs_graphql.config import load_settings
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

SUBSCRIPTION = """subscription($customerId: String, $serviceId: Long) {
  journeyEvents(customerId: $customerId, serviceId: $serviceId) {
    kind serviceId customerId stateId taskId fromStateId timestamp service { serviceId customerId }
  }
}"""



@contextlib.asynccontextmanager
async def served_app(database_url: str, **overrides: Any) -> AsyncIterator[dict[str, Any]]:
    """The app served by uvicorn in this process: its base URL and runtime (settings `overrides` apply)."""
    settings = load_settings({"database_url": database_url, "access_log": False, **overrides}, environ={})
    rt = create_runtime(settings)
    app = create_app(settings, rt)
    watcher = await start_runtime(rt)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                                           ws="websockets-sansio"))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield {"http": f"http://127.0.0.1:{port}", "ws": f"ws://127.0.0.1:{port}/graphql", "rt": rt}
    finally:
        server.should_exit = True
        await task
        await stop_runtime(rt, watcher)
        await wipe(database_url)


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """The app served by uvicorn in this process."""
    async with served_app(database_url) as got:
        yield got


async def recv_text(ws: Any) -> dict[str, Any]:
    """The next message (within 10 s), which must come as a text frame (standard clients refuse binary ones)."""
    frame = await asyncio.wait_for(ws.recv(), timeout=10)
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    message: dict[str, Any] = json.loads(frame)
    return message


async def _subscribe(ws_url: str, rt: Any, variables: dict[str, Any]) -> Any:
    ws = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert (await recv_text(ws))["type"] == "connection_ack"
    before = rt.parts["events"].subscribers
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": SUBSCRIPTION, "variables": variables}}))
    for _ in range(500):
        if rt.parts["events"].subscribers > before:
            break
        await asyncio.sleep(0.01)
    return ws


async def _next(ws: Any) -> dict[str, Any]:
    msg = await recv_text(ws)
    assert msg["type"] == "next", msg
    assert "errors" not in msg["payload"], msg
    event: dict[str, Any] = msg["payload"]["data"]["journeyEvents"]
    return event


async def test_customer_subscription_sees_rest_writes(served):
    ws = await _subscribe(served["ws"], served["rt"], {"customerId": "C1"})
    try:
        async with httpx.AsyncClient(base_url=served["http"]) as http:
            other = await http.post("/services/start", json={"service_type": 1, "customer_id": "C2"})
            assert other.status_code == 201
            sid = (await http.post("/services/start", json={"service_type": 1, "customer_id": "C1"})).json()[
                "service_id"]
            state = (await http.post(f"/services/{sid}/states/start", json={"state_type": 1})).json()["state_id"]
            new = (await http.post(f"/services/{sid}/states/transition",
                                   json={"from": {"state_id": state}, "to": {"state_type": 2}})).json()["state_id"]
            task = (await http.post(f"/services/{sid}/tasks/start", json={"task_type": 1})).json()["task_id"]
            assert (await http.post(f"/services/{sid}/tasks/{task}/end", json={})).status_code == 204
            refused = await http.post(f"/services/{sid}/tasks/{task}/end", json={})
            assert refused.status_code == 409
            assert (await http.post(f"/services/{sid}/end", json={})).status_code == 204
        got = [await _next(ws) for _ in range(6)]
        assert [e["kind"] for e in got] == ["SERVICE_STARTED", "STATE_STARTED", "STATE_TRANSITION", "TASK_STARTED",
                                           "TASK_COMPLETED", "SERVICE_COMPLETED"]
        assert {e["serviceId"] for e in got} == {sid} and {e["customerId"] for e in got} == {"C1"}
        assert got[2]["stateId"] == new and got[2]["fromStateId"] == state
        assert got[3]["taskId"] == task and got[0]["service"] == {"serviceId": sid, "customerId": "C1"}
        with pytest.raises(TimeoutError):  # the refused write and the other customer's service sent nothing
            await asyncio.wait_for(ws.recv(), timeout=0.3)
    finally:
        await ws.close()


async def test_service_subscription_and_tenants(served):
    async with httpx.AsyncClient(base_url=served["http"]) as http:
        sid = (await http.post("/services/start", json={"service_type": 1, "contact_key": "k"})).json()["service_id"]
        ws = await _subscribe(served["ws"], served["rt"], {"serviceId": sid})
        try:
            resp = await http.post("/services/start", json={"service_type": 1, "contact_key": "k"},
                                   headers={"X-Genesys-TenantId": "2"})
            assert resp.status_code == 201
            assert (await http.post(f"/customers/C7/services/{sid}", json={})).status_code == 200
            event = await _next(ws)
            assert event["kind"] == "SERVICE_ASSOCIATED" and event["customerId"] == "C7"
        finally:
            await ws.close()


async def test_the_tenant_feed_sees_every_service_of_its_tenant_anonymous_ones_included(served, make_client):
    """With neither customerId nor serviceId: every event of the caller's tenant, also from another worker
    (an anonymous service's event carries no customer id)."""
    ws = await _subscribe(served["ws"], served["rt"], {})
    try:
        async with httpx.AsyncClient(base_url=served["http"]) as http:
            elsewhere = await http.post("/services/start", json={"service_type": 1, "customer_id": "C8"},
                                        headers={"X-Genesys-TenantId": "2"})
            assert elsewhere.status_code == 201
            anon = await http.post("/services/start", json={"service_type": 1, "contact_key": "k9"})
            known = await http.post("/services/start", json={"service_type": 1, "customer_id": "C9"})
            assert anon.status_code == known.status_code == 201
        got = [await _next(ws), await _next(ws)]
        assert sorted((e["serviceId"], e["customerId"]) for e in got) == sorted(
            [(anon.json()["service_id"], None), (known.json()["service_id"], "C9")])
        other_worker = await make_client()
        again = await other_worker.post("/services/start", json={"service_type": 1, "contact_key": "k9"})
        assert again.status_code == 201
        event = await _next(ws)
        assert event["serviceId"] == again.json()["service_id"] and event["customerId"] is None
        with pytest.raises(TimeoutError):  # tenant 2's service never came
            await asyncio.wait_for(ws.recv(), timeout=0.3)
    finally:
        await ws.close()


async def test_events_of_another_worker(served, make_client):
    """Delivered through LISTEN/NOTIFY on PostgreSQL, through the event outbox on SQLite."""
    ws = await _subscribe(served["ws"], served["rt"], {"customerId": "C5"})
    try:
        other_worker = await make_client()
        resp = await other_worker.post("/services/start", json={"service_type": 1, "customer_id": "C5"})
        assert resp.status_code == 201
        event = await _next(ws)
        assert event["kind"] == "SERVICE_STARTED" and event["serviceId"] == resp.json()["service_id"]
        with pytest.raises(TimeoutError):  # once
            await asyncio.wait_for(ws.recv(), timeout=0.3)
    finally:
        await ws.close()


@pytest.mark.parametrize("subprotocols", [["graphql-ws"], None, ["graphql-ws", "other"]])
async def test_the_legacy_websocket_protocol_is_refused_with_its_reason(served, caplog, subprotocols):
    """subscriptions-transport-ws (graphql-ws) is not served: the handshake completes, then the connection
    closes with 4406 and the reason, and none of the legacy messages is read or answered."""
    ws = await websockets.connect(served["ws"], subprotocols=subprotocols)
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": "{ serverStatus { mode } }"}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406
    assert "graphql-transport-ws" in closed.value.rcvd.reason
    assert ws.subprotocol == (subprotocols[0] if subprotocols else None)
    assert "Traceback" not in caplog.text and "Exception" not in caplog.text


@pytest.mark.parametrize("variables", [b'{"customerId": "\\ud800"}', b"[" * 1100 + b"]" * 1100])
async def test_undecodable_websocket_messages_close_the_connection_as_the_clients_error(served, caplog, variables):
    ws = await websockets.connect(served["ws"], subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    message = b'{"id": "1", "type": "subscribe", "payload": {"query": "' + SUBSCRIPTION.replace("\n", " ").replace(
        '"', '\\"').encode() + b'", "variables": ' + variables + b"}}"
    await ws.send(message.decode())
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert "Traceback" not in caplog.text and "[parameters:" not in caplog.text
