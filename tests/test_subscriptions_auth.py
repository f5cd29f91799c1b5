"""WebSocket credentials: in the handshake header, or (for browsers) in the connection_init payload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.test_access import CONFIG, basic
from tests.test_subscriptions import SUBSCRIPTION, recv_text, served_app


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The app with users configured, served by uvicorn in this process."""
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def _init(url: str, payload: dict[str, Any] | None) -> Any:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await ws.send(json.dumps(message))
    return ws


async def test_connection_init_credentials_admit_a_browser_subscription(guarded):
    ws = await _init(guarded["ws"], {"Authorization": basic("root")["Authorization"]})
    assert (await recv_text(ws))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION,
                                                                          "variables": {"customerId": "C7"}}}))
    events = guarded["rt"].parts["events"]
    for _ in range(500):
        if events.subscribers:
            break
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=guarded["http"]) as http:
        resp = await http.post("/services/start", json={"service_type": 1, "customer_id": "C7"},
                               headers=basic("root"))
        assert resp.status_code == 201, resp.text
    msg = await recv_text(ws)
    assert msg["type"] == "next" and msg["payload"]["data"]["journeyEvents"]["customerId"] == "C7"
    await ws.close()


@pytest.mark.parametrize("payload", [None, {}, {"Authorization": "Basic bm9ib2R5Om5vcGU="}])
async def test_a_websocket_without_valid_credentials_is_refused_at_connection_init(guarded, payload):
    ws = await _init(guarded["ws"], payload)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_subscriber_without_the_read_task_is_forbidden(guarded):
    ws = await _init(guarded["ws"], {"Authorization": basic("ann")["Authorization"]})
    assert (await recv_text(ws))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {}}}))
    msg = await recv_text(ws)
    assert msg["type"] in ("error", "next"), msg
    errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


async def test_the_tenant_of_connection_init_must_agree_with_the_handshake_header(guarded):
    ws = await websockets.connect(guarded["ws"], subprotocols=["graphql-transport-ws"],
                                  additional_headers={"X-Genesys-TenantId": "1"})
    await ws.send(json.dumps({"type": "connection_init", "payload": {**basic("ann"), "X-Genesys-TenantId": "2"}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


@pytest.mark.parametrize("tenant", ["0", "two", True, 2**31])
async def test_a_malformed_tenant_in_connection_init_is_refused(guarded, tenant):
    ws = await _init(guarded["ws"], {**basic("root"), "X-Genesys-TenantId": tenant})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_header_credentials_are_checked_again_for_the_tenant_of_connection_init(guarded):
    """ann may use tenants 1 and 2, not 3: the handshake admitted her for tenant 1 (no tenant header)."""
    for tenant, admitted in (("2", True), ("3", False)):
        ws = await websockets.connect(guarded["ws"], subprotocols=["graphql-transport-ws"],
                                      additional_headers=basic("ann"))
        await ws.send(json.dumps({"type": "connection_init", "payload": {"X-Genesys-TenantId": tenant}}))
        if admitted:
            assert (await recv_text(ws))["type"] == "connection_ack"
            await ws.close()
            continue
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
