"""The event each journey write publishes, field by field, on both databases.

The bus publishes a write's event once the write has committed: on PostgreSQL as a NOTIFY sent by the
process's notifier (the events committed meanwhile together, in one transaction), on SQLite to the process's
subscribers. Either way a subscriber of this process receives the same events, in the order of the writes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import wipe
from tests.journeys import define_extensions
from ucs_graphql.config import load_settings
from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.events.bus import Event, EventBus, PgBus, Subscription
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

T = "2024-05-06T07:08:09.010Z"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, EventBus]]:
    """A client on an app and the app's event bus."""
    settings = load_settings({"database_url": database_url, "access_log": False, "allowed_hosts": ["testserver"]},
                             environ={})
    rt = create_runtime(settings)
    watcher = await start_runtime(rt)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, rt)),
                               base_url="http://testserver")
    try:
        yield client, rt.parts["events"]
    finally:
        await client.aclose()
        await stop_runtime(rt, watcher)
        await wipe(database_url)


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int) -> Any:
    resp = await client.post(path, json={"timestamp": T, **body})
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


async def _events(sub: Subscription, count: int) -> list[Event]:
    return [await asyncio.wait_for(sub.next(), timeout=10) for _ in range(count)]


async def test_every_write_publishes_its_event(served):
    client, bus = served
    await define_extensions(client)
    async with bus.subscribe(1, customer_id="E1") as sub:
        sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "E1"}, 201))["service_id"]
        s1 = (await _post(client, f"/services/{sid}/states/start", {"state_type": 1}, 201))["state_id"]
        await _post(client, f"/services/{sid}/states/{s1}/end", {"disposition": 2}, 200)
        s2 = (await _post(client, f"/services/{sid}/states/start", {"state_type": 2, "previous_state_id": s1},
                          201))["state_id"]
        s3 = (await _post(client, f"/services/{sid}/states/transition", {
            "from": {"state_id": s2}, "to": {"state_type": 3, "Feedback": {"rating": 4}}}, 201))["state_id"]
        t1 = (await _post(client, f"/services/{sid}/tasks/start", {"task_type": 1, "state_id": s3}, 201))["task_id"]
        await _post(client, f"/services/{sid}/tasks/{t1}/end", {}, 204)
        t2 = (await _post(client, f"/services/{sid}/tasks/start", {"task_type": 1, "Survey": {"question1": 1}},
                          201))["task_id"]
        await _post(client, f"/services/{sid}/tasks/{t2}/end", {"Survey": {"question1": 2}}, 204)
        await _post(client, f"/services/{sid}/tasks/{t2}/end", {}, 409)  # refused: no event
        await _post(client, f"/services/{sid}/end", {"Feedback": {"rating": 5}}, 204)
        other = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "E1",
                                                         "relatedOffers": [{"offer_name": "x"}]}, 201))["service_id"]
        await _post(client, f"/services/{other}/end", {}, 204)
        got = await _events(sub, 12)

    def ev(kind: str, service_id: int, **ids: int) -> Event:
        return Event(kind, 1, service_id, "E1", T, **ids)

    assert got == [
        ev("service_started", sid), ev("state_started", sid, state_id=s1), ev("state_completed", sid, state_id=s1),
        ev("state_started", sid, state_id=s2), ev("state_transition", sid, state_id=s3, from_state_id=s2),
        ev("task_started", sid, state_id=s3, task_id=t1), ev("task_completed", sid, state_id=s3, task_id=t1),
        ev("task_started", sid, task_id=t2), ev("task_completed", sid, task_id=t2), ev("service_completed", sid),
        ev("service_started", other), ev("service_completed", other)]


async def test_anonymous_service_events_and_refusals_send_nothing(served):
    client, bus = served
    async with bus.subscribe(1) as sub:
        sid = (await _post(client, "/services/start", {"service_type": 1, "contact_key": "k9"}, 201))["service_id"]
        await _post(client, f"/services/{sid}/states/start", {"state_type": 1, "previous_state_id": 999999}, 404)
        await _post(client, f"/services/{sid}/tasks/start", {"task_type": 1, "state_id": 999999}, 404)
        await _post(client, f"/services/{sid}/states/transition", {"from": {"state_id": 999999},
                                                                   "to": {"state_type": 1}}, 404)
        await _post(client, f"/services/{sid}/end", {}, 204)
        await _post(client, f"/services/{sid}/states/start", {"state_type": 1}, 409)
        await _post(client, f"/services/{sid}/end", {}, 409)
        await _post(client, f"/services/{sid + 1000}/tasks/start", {"task_type": 1}, 404)
        got = await _events(sub, 2)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sub.next(), timeout=0.3)
    assert got == [Event("service_started", 1, sid, None, T), Event("service_completed", 1, sid, None, T)]


async def test_events_stay_in_the_process_when_the_server_refused_listen(served):
    """A PostgreSQL-compatible server without LISTEN: the bus delivers within the process, so a write must not
    count on a NOTIFY of its own."""
    client, bus = served
    if isinstance(bus, PgBus):
        await bus.stop()  # no listening connection any more,
        bus.notify = False  # as after the server refused LISTEN
    async with bus.subscribe(1, customer_id="E2") as sub:
        sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "E2"}, 201))["service_id"]
        state = (await _post(client, f"/services/{sid}/states/start", {"state_type": 1}, 201))["state_id"]
        await _post(client, f"/services/{sid}/end", {}, 204)
        got = await _events(sub, 3)
    assert got == [Event("service_started", 1, sid, "E2", T), Event("state_started", 1, sid, "E2", T, state_id=state),
                   Event("service_completed", 1, sid, "E2", T)]


async def test_concurrent_calls_publish_every_event_in_the_order_of_each_call(served):
    client, bus = served

    async def call(n: int) -> int:
        sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": f"C{n}"}, 201))["service_id"]
        s1 = (await _post(client, f"/services/{sid}/states/start", {"state_type": 1}, 201))["state_id"]
        s2 = (await _post(client, f"/services/{sid}/states/transition", {"from": {"state_id": s1},
                                                                         "to": {"state_type": 2}}, 201))["state_id"]
        t1 = (await _post(client, f"/services/{sid}/tasks/start", {"task_type": 1, "state_id": s2}, 201))["task_id"]
        await _post(client, f"/services/{sid}/tasks/{t1}/end", {}, 204)
        await _post(client, f"/services/{sid}/end", {}, 204)
        return sid

    async with bus.subscribe(1) as sub:
        sids = await asyncio.gather(*(call(n) for n in range(12)))
        got = await _events(sub, 12 * 6)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sub.next(), timeout=0.3)
    kinds: dict[int, list[str]] = defaultdict(list)
    for event in got:
        kinds[event.service_id].append(event.kind)
    assert set(kinds) == set(sids)
    assert all(k == ["service_started", "state_started", "state_transition", "task_started", "task_completed",
                     "service_completed"] for k in kinds.values()), kinds


async def test_events_handed_over_together_go_out_in_one_notifying_transaction(served):
    """PostgreSQL: one transaction for the events that gather while none is being sent, a repeated payload
    (which PostgreSQL would deliver once per transaction) in a transaction of its own."""
    _client, bus = served
    if not isinstance(bus, PgBus):
        pytest.skip("the notifier serves PostgreSQL's LISTEN/NOTIFY")
    payloads = [Event("service_started", 1, 900 + n, "N1", T).encode() for n in range(5)]
    async with bus.subscribe(1, customer_id="N1") as sub:
        await asyncio.gather(*(bus.notifier.send([p]) for p in payloads))
        assert (bus.notifier.sent, bus.notifier.batches) == (5, 1)
        await asyncio.gather(bus.notifier.send([payloads[0]]), bus.notifier.send([payloads[0]]))
        assert (bus.notifier.sent, bus.notifier.batches) == (7, 3)
        got = await _events(sub, 7)
    assert [e.service_id for e in got] == [900, 901, 902, 903, 904, 900, 900]


async def test_a_write_whose_event_cannot_be_sent_still_answers(served, caplog):
    """PostgreSQL: the write committed, so it answers; its event is lost and logged."""
    client, bus = served
    if not isinstance(bus, PgBus):
        pytest.skip("the notifier serves PostgreSQL's LISTEN/NOTIFY")
    await _post(client, "/services/start", {"service_type": 1, "customer_id": "L1"}, 201)
    await bus.notifier.stop()  # its connection is closed, and the next one cannot be opened
    bus.notifier.dsn = "postgresql://postgres@127.0.0.1:1/none"
    bus.notifier.timeout = 1
    with caplog.at_level(logging.WARNING, logger="ucs.events"):
        sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "L1"}, 201))["service_id"]
    assert bus.notifier.lost == 1
    assert "1 events committed but not sent" in caplog.text
    resp = await client.get(f"/services/{sid}")
    assert resp.status_code == 200, resp.text


async def test_a_process_hears_events_only_while_it_has_subscribers(served):
    """PostgreSQL: a worker without subscribers has no event notification to read; its first subscriber
    starts listening before it subscribes, and the end of its last one stops it."""
    client, bus = served
    if not isinstance(bus, PgBus):
        pytest.skip("LISTEN is PostgreSQL's")
    await _post(client, "/services/start", {"service_type": 1, "customer_id": "H1"}, 201)
    await asyncio.sleep(0.2)
    assert bus.received == 0
    async with bus.subscribe(1, customer_id="H1") as sub:
        async with bus.subscribe(1, customer_id="H2"):
            pass
        sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "H1"}, 201))["service_id"]
        assert [e.service_id for e in await _events(sub, 1)] == [sid]
    assert bus.received == 1
    await asyncio.sleep(0.2)  # the UNLISTEN is sent in the background
    await _post(client, "/services/start", {"service_type": 1, "customer_id": "H1"}, 201)
    await asyncio.sleep(0.2)
    assert bus.received == 1


async def test_a_sqlite_journey_write_runs_on_the_loop_and_waits_its_turn_when_the_database_is_locked(
        served, database_url):
    """SQLite: a journey write runs on the quick writer, on the event loop's thread; when another connection
    holds the write lock it goes the ordinary way, which waits for the lock in the driver's thread."""
    client, _bus = served
    path = sqlite_path(database_url)
    if path is None:
        pytest.skip("the quick writer is SQLite's")
    db = client._transport.app.state.runtime.db  # type: ignore[attr-defined]
    before = db.quick_writes
    sid = (await _post(client, "/services/start", {"service_type": 1, "customer_id": "Q1"}, 201))["service_id"]
    assert db.quick_writes == before + 1
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        pending = asyncio.ensure_future(_post(client, f"/services/{sid}/states/start", {"state_type": 1}, 201))
        await asyncio.sleep(0.3)
        assert not pending.done()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    state = (await pending)["state_id"]
    assert db.quick_writes == before + 1
    resp = await client.get(f"/services/{sid}/states/{state}")
    assert resp.status_code == 200, resp.text
