"""A mode switch that fails half way, or is abandoned by its worker, does not leave the server switching (every
request answered 503, and every new switch refused as "already switching") for ever: the switch that failed
writes the previous mode back, and a switch still under way after the longest a switch may take is recovered
by the first worker to see it (ucs_graphql.server.service)."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import delete, insert

from tests.helpers import assert_error
from tests.test_idle import runtime, until
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.server import service


async def store_switch(url: str, target: str, leaving: str, began_seconds_ago: float) -> None:
    """What a worker killed in the middle of a switch leaves in server_state."""
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            names = (service.MODE, service.SWITCH_FROM, service.SWITCH_STARTED)
            await conn.execute(delete(server_state).where(server_state.c.name.in_(names)))
            await conn.execute(insert(server_state), [
                {"name": service.MODE, "value": service.SWITCHING + target},
                {"name": service.SWITCH_FROM, "value": leaving},
                {"name": service.SWITCH_STARTED, "value": str(int((time.time() - began_seconds_ago) * 1000))}])
    finally:
        await engine.dispose()


async def answers_normally(client) -> bool:
    return (await client.get("/profiles/nobody")).status_code == 404


async def back_in_production(client) -> None:
    """Wait until the worker answers requests again (not 503), in production mode."""
    await until(lambda: answers_normally(client), "the worker answers again")
    assert (await client.get("/server/status")).json()["mode"] == "production"


async def test_a_switch_that_fails_half_way_writes_the_previous_mode_back(make_client, monkeypatch, caplog):
    client = await make_client()
    calls = []

    async def database_gone(*args, **kwargs):
        calls.append(args)
        raise Unavailable("the database is unavailable; retry later")

    monkeypatch.setattr(service, "_wait_for_workers", database_gone)
    with caplog.at_level(logging.WARNING, logger="ucs.server"):
        resp = await client.post("/server/mode", json={"mode": "maintenance"})
    assert resp.status_code == 503, resp.text
    assert calls  # it failed after its first write: every worker was switching
    assert "production mode was written back" in caplog.text
    status = (await client.get("/server/status")).json()
    assert status["mode"] == "production"
    assert await answers_normally(client)  # not 503
    monkeypatch.undo()
    resp = await client.post("/server/mode", json={"mode": "maintenance"})  # not "already switching"
    assert resp.status_code == 200, resp.text
    assert (await client.get("/server/status")).json()["mode"] == "maintenance"


async def test_a_switch_abandoned_long_ago_is_recovered_when_a_worker_starts(make_client, database_url, caplog):
    # A cluster restarted after its switching worker died: it does not start switching for ever.
    await make_client()  # the tables
    await store_switch(database_url, "maintenance", "production", began_seconds_ago=3600)
    with caplog.at_level(logging.WARNING, logger="ucs.server"):
        client = await make_client()
        await back_in_production(client)
    assert "was abandoned" in caplog.text


async def test_a_switch_abandoned_by_its_worker_is_recovered_once_it_outlived_the_longest_switch(
        make_client, database_url):
    await make_client()  # the tables
    await store_switch(database_url, "maintenance", "production", began_seconds_ago=0)
    began = time.monotonic()
    limits = {"mode_switch_timeout_seconds": 1, "request_timeout_seconds": 1}
    first, second = await make_client(**limits), await make_client(**limits)
    # Both workers apply the switch its dead worker began: requests answer 503 and a new switch is refused,
    # for at most mode_switch_timeout_seconds + request_timeout_seconds (2 s here).
    for client in (first, second):
        assert (await client.get("/profiles/nobody")).status_code == 503
    assert_error(await first.post("/server/mode", json={"mode": "maintenance"}), 503, 5030, "already switching")
    # Then the first worker to see it writes back the mode it left, and both follow.
    for client in (first, second):
        await back_in_production(client)
    assert 1.5 < time.monotonic() - began < 6
    # A new switch is taken again.
    resp = await second.post("/server/mode", json={"mode": "maintenance"})
    assert resp.status_code == 200, resp.text
    assert (await first.get("/server/status")).json()["mode"] == "maintenance"


async def test_a_live_switch_that_outlived_the_longest_switch_is_ended_once_and_cannot_end_it_again(
        make_client, caplog):
    # Worker a's switch waits for worker b's request in flight; b (whose limits make a switch abandoned after
    # 2 s) ends it as abandoned meanwhile. When b's request ends, a's switch must not write its target over
    # that: it answers that another worker ended it, and the mode stays as it was.
    a = await make_client()
    b = await make_client(mode_switch_timeout_seconds=1, request_timeout_seconds=1)
    await asyncio.sleep(0.3)  # both registered
    runtime(b).server.enter()
    try:
        with caplog.at_level(logging.WARNING, logger="ucs.server"):
            switch = asyncio.create_task(a.post("/server/mode", json={"mode": "maintenance"}))
            await asyncio.sleep(0.5)
            assert not switch.done()
            assert (await b.get("/server/status")).json()["mode"] == "production"
            assert (await a.get("/profiles/nobody")).status_code == 503  # switching
            async def recovered() -> bool:
                return "was abandoned" in caplog.text

            await until(recovered, "b ended the switch as abandoned")
            assert not switch.done()  # a still waits for b's request
    finally:
        runtime(b).server.leave()
    left = time.monotonic()
    resp = await switch
    assert time.monotonic() - left < 5  # at once, not at a's own timeout (60 s)
    assert_error(resp, 403, None, "another worker ended it as abandoned")
    for client in (a, b):
        assert (await client.get("/server/status")).json()["mode"] == "production"
        assert await answers_normally(client)
    assert caplog.text.count("was abandoned") == 1
    assert "server mode changed to maintenance" not in caplog.text
    assert (await a.post("/server/mode", json={"mode": "maintenance"})).status_code == 200


async def test_workers_that_see_one_abandoned_switch_together_end_it_once(make_client, database_url, caplog):
    await make_client()  # the tables
    await store_switch(database_url, "maintenance", "production", began_seconds_ago=3600)
    with caplog.at_level(logging.WARNING, logger="ucs.server"):
        clients = [await make_client() for _ in range(3)]
        for client in clients:
            await back_in_production(client)
    assert caplog.text.count("was abandoned") == 1


async def test_two_switches_asked_of_one_worker_at_once_run_one(make_client):
    client = await make_client()
    answers = await asyncio.gather(client.post("/server/mode", json={"mode": "maintenance"}),
                                   client.post("/server/mode", json={"mode": "maintenance"}))
    assert sorted(r.status_code for r in answers) == [200, 503], [r.text for r in answers]
    assert (await client.get("/server/status")).json()["mode"] == "maintenance"


async def test_a_switch_an_older_version_left_without_a_start_time_is_recovered_after_the_longest_switch(
        make_client, database_url):
    await make_client()  # the tables
    engine = throwaway_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(server_state).where(server_state.c.name.in_(
                (service.MODE, service.SWITCH_FROM, service.SWITCH_STARTED))))
            await conn.execute(insert(server_state), [{"name": service.MODE, "value": "switching:maintenance"}])
    finally:
        await engine.dispose()
    client = await make_client(mode_switch_timeout_seconds=1, request_timeout_seconds=1)
    began = time.monotonic()
    assert (await client.get("/profiles/nobody")).status_code == 503  # not at once: it may be alive
    await back_in_production(client)
    assert 1.5 < time.monotonic() - began < 6
