"""Server operations through REST and GraphQL: status fields, mode switching, mode rules."""

from __future__ import annotations

import asyncio

from tests.helpers import assert_error, error_code, gql, set_mode


async def test_status_has_every_documented_field(client):
    await client.get("/nope")
    resp = await client.get("/server/status")
    assert resp.status_code == 200
    body = resp.json()
    for field in ("version", "system_time", "mode", "started", "last_request", "request_today",
                  "client_errors_today", "server_errors_today", "max_memory", "allocated_memory",
                  "used_memory", "free_memory"):
        assert field in body, field
    assert body["mode"] == "production"
    assert body["request_today"] >= 1
    assert body["client_errors_today"] >= 1
    assert body["system_time"].endswith("Z") and len(body["system_time"]) == 24
    assert body["used_memory"] > 1000


async def test_status_counts_today_s_requests_and_times_the_last(client, monkeypatch):
    from ucs_graphql.server import state

    clock = [1_893_542_399.25]  # 2030-01-01T23:59:59.250Z, a later day than today's: the counters start again
    monkeypatch.setattr(state.time, "time", lambda: clock[0])
    for _ in range(2):
        await client.get("/nope")
    first = (await client.get("/server/status")).json()
    assert first["last_request"] == "2030-01-01T23:59:59.250Z"
    assert (first["request_today"], first["client_errors_today"], first["server_errors_today"]) == (2, 2, 0)
    clock[0] += 1.5  # past midnight: they start again
    await client.get("/nope")
    second = (await client.get("/server/status")).json()
    assert second["last_request"] == "2030-01-02T00:00:00.750Z"
    assert (second["request_today"], second["client_errors_today"], second["server_errors_today"]) == (1, 1, 0)


async def test_mode_switch_is_case_insensitive_and_answers_location(client):
    resp = await client.post("/server/mode", json={"mode": "MainTenance"})
    assert resp.status_code == 200
    assert resp.json() == {"server changed": "maintenance"}
    assert resp.headers["location"] == "/server/status"
    assert (await client.get("/server/status")).json()["mode"] == "maintenance"


async def test_bad_mode_is_the_reference_bad_parameter(client):
    resp = await client.post("/server/mode", json={"mode": "something"})
    assert_error(resp, 400, 4020, "bad parameter 'server mode' reason : server mode has not a correct value 'something'")
    assert_error(await client.post("/server/mode", json={}), 400, 4021, "mode")
    assert_error(await client.post("/server/mode", content=b"{nope", headers={"content-type": "application/json"}),
                 400, 4000)
    assert_error(await client.post("/server/mode", content=b"mode=x", headers={"content-type": "text/plain"}),
                 415, 4150)


async def test_mode_survives_restart(make_client):
    first = await make_client()
    await set_mode(first, "maintenance")
    second = await make_client()
    assert (await second.get("/server/status")).json()["mode"] == "maintenance"


async def test_other_worker_sees_the_switch_before_it_answers(make_client):
    a = await make_client()
    b = await make_client()  # a second runtime on the same database stands for a second worker
    await asyncio.sleep(0.3)  # both registered and read the state
    await set_mode(a, "maintenance")
    assert (await b.get("/server/status")).json()["mode"] == "maintenance"


async def test_requests_during_a_switch_answer_503(make_client):
    a = await make_client()
    rt_state = a._transport.app.state.runtime.server  # type: ignore[attr-defined]
    rt_state.switching = True
    try:
        resp = await a.get("/metadata/profiles/extensions")
        assert_error(resp, 503, 5030)
        assert resp.headers["retry-after"] == "1"
        assert (await a.get("/server/status")).status_code == 200
    finally:
        rt_state.switching = False


async def test_maintenance_only_operations_are_403_in_production(client):
    resp = await client.post("/metadata/identification-keys", json={"name": "idPhone", "attributes": ["PhoneNumber"]})
    assert_error(resp, 403, 4031, "maintenance mode")
    resp = await client.post("/metadata/profiles", json={"name": "PIN", "type": "string"})
    assert_error(resp, 403, 4031, "production mode")


async def test_graphql_server_status_and_mode(client):
    body = await gql(client, "mutation { setServerMode(mode: MAINTENANCE) }")
    assert body["data"]["setServerMode"] == "MAINTENANCE"
    body = await gql(client, "{ serverStatus { mode version requestToday usedMemory } }")
    assert body["data"]["serverStatus"]["mode"] == "MAINTENANCE"
    body = await gql(client, 'mutation { createIdentificationKey(key: {name: "x", attributes: ["Nope"]}) }')
    assert error_code(body) == "BAD_PARAMETER"
