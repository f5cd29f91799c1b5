"""Workers follow each other through the database's change signals (NOTIFY on PostgreSQL, PRAGMA data_version on
SQLite, polling without them) instead of polling it: an idle worker sends nothing, a mode switch still waits
for every live worker's requests, and a worker killed without leaving its row does not hold a switch back (on
SQLite its released lock shows it dead at once);
SQLite's event outbox stays bounded, and a process left behind by it ends its subscriptions.

Several runtimes on one database stand for several workers (the make_client fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select

from tests.helpers import assert_error, set_mode
from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.db.tables.server import event_outbox, server_worker
from ucs_graphql.events import sqlite as sqlite_bus
from ucs_graphql.events.worker_locks import WorkerLocks, folder_of
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.runtime import Runtime

# An idle worker's statements over IDLE_SECONDS: none, it waits for a change signal. A regression that polls
# or beats again fails here (the old watcher sent about 50 in 5 s on PostgreSQL, 100 on SQLite).
IDLE_SECONDS = 5.0
IDLE_STATEMENTS_MAX = 0


def runtime(client: httpx.AsyncClient) -> Runtime:
    rt: Runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    return rt


def statements(rt: Runtime) -> list[str]:
    """Every statement the runtime's pools send from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    for engine in rt.db.engines():
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for `check` to hold (at most about 10 s, a guard against a hang, not a speed target)."""
    for _ in range(1000):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def wal_bytes(path: Path) -> int:
    """The size of a SQLite database's write-ahead log."""
    return Path(f"{path}-wal").stat().st_size


async def worker_rows(rt: Runtime) -> dict[str, tuple[int, int]]:
    async with rt.db.read() as conn:
        rows = await conn.execute(select(server_worker.c.worker_id, server_worker.c.seen_generation,
                                         server_worker.c.inflight))
        return {worker: (seen, inflight) for worker, seen, inflight in rows}


async def test_an_idle_worker_sends_no_statement_and_commits_nothing(make_client, database_url):
    client = await make_client()
    rt = runtime(client)
    assert (await client.get("/server/status")).json()["mode"] == "production"
    await until(lambda: _registered(rt), "the worker registered")
    await asyncio.sleep(1.0)  # the watcher's first read of the state, at start, is over
    seen = statements(rt)
    path = sqlite_path(database_url)
    if path is not None:
        probe = sqlite3.connect(path, isolation_level=None)
        version = probe.execute("PRAGMA data_version").fetchone()[0]
        wal = wal_bytes(path)
    await asyncio.sleep(IDLE_SECONDS)
    assert len(seen) <= IDLE_STATEMENTS_MAX, seen
    if path is not None:
        # No connection of any process committed meanwhile, and the write-ahead log did not grow.
        assert probe.execute("PRAGMA data_version").fetchone()[0] == version
        assert wal_bytes(path) == wal
        probe.close()
    # Still following: a switch made by another worker is applied.
    other = await make_client()
    await set_mode(other, "maintenance")
    assert (await client.get("/server/status")).json()["mode"] == "maintenance"


async def _registered(rt: Runtime) -> bool:
    return rt.server.worker_id in await worker_rows(rt)


async def _switch_held_by_a_request(a: Any, rt_a: Runtime, rt_b: Runtime) -> asyncio.Task[Any]:
    """Worker b serves a request (until `rt_b.server.leave()`) while a switches to maintenance: the switch,
    once b has acknowledged it with that request in flight."""
    rt_b.server.enter()
    switch = asyncio.create_task(a.post("/server/mode", json={"mode": "maintenance"}))

    async def b_acknowledged_busy() -> bool:
        seen, inflight = (await worker_rows(rt_a)).get(rt_b.server.worker_id, (0, 0))
        return seen >= rt_a.server.generation > 0 and inflight == 1 and rt_a.server.switching

    try:
        await until(b_acknowledged_busy, "b acknowledged the switch with its request in flight")
    except BaseException:
        rt_b.server.leave()
        raise
    return switch


async def test_a_switch_waits_for_the_requests_of_another_worker(make_client):
    a, b = await make_client(), await make_client()
    rt_a, rt_b = runtime(a), runtime(b)
    await until(lambda: _registered(rt_a), "a registered")
    switch = await _switch_held_by_a_request(a, rt_a, rt_b)
    try:
        assert (await b.get("/metadata/profiles")).status_code == 503  # new requests wait meanwhile
        await asyncio.sleep(0.2)
        assert not switch.done()
    finally:
        rt_b.server.leave()
    resp = await switch
    assert resp.status_code == 200, resp.text
    assert (await b.get("/server/status")).json()["mode"] == "maintenance"


async def test_a_switch_that_outlasts_its_time_limit_leaves_the_mode_as_it_was(make_client):
    a = await make_client(mode_switch_timeout_seconds=0.5)
    b = await make_client()
    await until(lambda: _registered(runtime(a)), "a registered")
    runtime(b).server.enter()
    try:
        resp = await a.post("/server/mode", json={"mode": "maintenance"})
        assert_error(resp, 403, None, "timed out")
    finally:
        runtime(b).server.leave()
    assert (await a.get("/server/status")).json()["mode"] == "production"
    await until(lambda: _mode_is(b, "production"), "b back in production")
    await set_mode(a, "maintenance")


async def _mode_is(client: httpx.AsyncClient, mode: str) -> bool:
    resp = await client.get("/server/status")
    return resp.status_code == 200 and resp.json()["mode"] == mode


async def _ghost(rt: Runtime) -> None:
    """A row of a worker that never answers (a worker killed by SIGKILL leaves one behind)."""
    async def write(conn: Any) -> None:
        await conn.execute(insert(server_worker).values(worker_id="ghost", pid=1, heartbeat_ms=0, seen_generation=0,
                                                        inflight=0))

    await rt.db.write(write)


async def test_a_worker_that_never_acknowledges_does_not_hold_a_switch_back(make_client, database_url, caplog):
    """On PostgreSQL a worker killed without leaving is presumed gone this way. On SQLite one is known dead at
    once by its released lock (the test below), so the ghost holds a lock here: it stands for a worker alive but
    stuck, which the switch presumes gone all the same."""
    a, b = await make_client(), await make_client()
    rt = runtime(a)
    await until(lambda: _registered(rt), "a registered")
    with contextlib.ExitStack() as stack:
        path = sqlite_path(database_url)
        if path is not None:
            locks = WorkerLocks(path, "ghost")
            assert locks.hold()
            stack.callback(locks.release)
        await _ghost(rt)
        await set_mode(a, "maintenance")
    assert (await b.get("/server/status")).json()["mode"] == "maintenance"
    rows = await worker_rows(rt)
    assert "ghost" not in rows and runtime(b).server.worker_id in rows
    assert "ghost did not acknowledge the mode switch" in caplog.text


async def test_on_sqlite_a_worker_without_its_lock_is_removed_at_once(make_client, database_url, backend, caplog):
    if backend != "sqlite":
        pytest.skip("PostgreSQL workers are presumed gone by a mode switch only (the test above)")
    a, b = await make_client(), await make_client()
    rt = runtime(a)
    await until(lambda: _registered(rt), "a registered")
    path = sqlite_path(database_url)
    assert path is not None
    (folder_of(path) / "ghost.lock").write_text("")  # what a worker killed by SIGKILL leaves: its file, unlocked
    await _ghost(rt)  # its commit moves the data version: the workers read the rows and find the ghost dead

    async def ghost_removed() -> bool:
        return "ghost" not in await worker_rows(rt)

    await until(ghost_removed, "the ghost's row removed")
    assert "ghost ended without leaving" in caplog.text
    await set_mode(a, "maintenance")
    assert (await b.get("/server/status")).json()["mode"] == "maintenance"
    assert "did not acknowledge the mode switch" not in caplog.text  # nobody was presumed gone
    assert runtime(a).parts["events"].peers and runtime(b).parts["events"].peers  # the live ones stay peers
    assert set(await worker_rows(rt)) == {runtime(a).server.worker_id, runtime(b).server.worker_id}


async def test_on_sqlite_a_live_worker_without_its_lock_file_is_not_taken_for_dead(make_client, database_url,
                                                                                    backend):
    """A live worker whose file was removed (by hand, or by a cleaner of old files), or that could not create it,
    stays registered and a peer, and a switch still waits for its requests."""
    if backend != "sqlite":
        pytest.skip("the workers' lock files are SQLite's")
    a, b = await make_client(), await make_client()
    rt_a, rt_b = runtime(a), runtime(b)
    await until(lambda: _registered(rt_a), "a registered")
    path = sqlite_path(database_url)
    assert path is not None
    (folder_of(path) / f"{rt_b.server.worker_id}.lock").unlink()
    resp = await a.post("/services/start", json={"service_type": 1, "customer_id": "CL"})
    assert resp.status_code == 201, resp.text  # a commit: every worker reads the workers' rows again
    await asyncio.sleep(10 * sqlite_bus.CHECK_SECONDS)
    assert rt_b.server.worker_id in await worker_rows(rt_a)
    assert rt_a.parts["events"].peers
    switch = await _switch_held_by_a_request(a, rt_a, rt_b)
    try:
        await asyncio.sleep(0.2)
        assert not switch.done()
    finally:
        rt_b.server.leave()
    resp = await switch
    assert resp.status_code == 200, resp.text


async def test_a_schema_change_reaches_the_cache_of_another_worker(make_client):
    a, b = await make_client(), await make_client()
    await set_mode(a, "maintenance")
    assert "Pin" not in (await b.get("/metadata/profiles")).text  # b holds the schema now
    resp = await a.post("/metadata/profiles", json={"name": "Pin", "type": "string"})
    assert resp.status_code in (200, 201), resp.text

    async def b_sees_it() -> bool:
        return "Pin" in (await b.get("/metadata/profiles")).text

    await until(b_sees_it, "b dropped its copy of the schema")


@pytest.mark.postgres_only
async def test_without_notify_workers_poll_and_still_switch_together(make_client):
    """db_notify = false stands for an engine without LISTEN (CockroachDB, YugabyteDB): the state is read every
    mode_poll_seconds, and a switch still waits for every worker."""
    a = await make_client(db_notify=False, mode_poll_seconds=0.2)
    b = await make_client(db_notify=False, mode_poll_seconds=0.2)
    assert type(runtime(a).parts["events"]).__name__ == "LocalBus"
    await until(lambda: _registered(runtime(a)), "a registered")
    await set_mode(a, "maintenance")
    assert (await b.get("/server/status")).json()["mode"] == "maintenance"
    await set_mode(b, "production")
    assert (await a.get("/server/status")).json()["mode"] == "production"


async def test_the_sqlite_outbox_keeps_the_newest_rows_and_a_reader_left_behind_ends_its_subscriptions(
        make_client, backend, monkeypatch):
    if backend != "sqlite":
        pytest.skip("the outbox carries events between processes on SQLite only")
    monkeypatch.setattr(sqlite_bus, "KEEP_ROWS", 5)
    monkeypatch.setattr(sqlite_bus, "PRUNE_EVERY", 2)
    a, b = await make_client(), await make_client()
    bus_a, bus_b = runtime(a).parts["events"], runtime(b).parts["events"]

    async def peers() -> bool:
        return bool(bus_a.peers and bus_b.peers)

    await until(peers, "each worker knows of the other")

    async def start() -> int:
        resp = await b.post("/services/start", json={"service_type": 1, "customer_id": "CZ"})
        assert resp.status_code == 201
        return int(resp.json()["service_id"])

    async with bus_a.subscribe(1, customer_id="CZ") as sub:
        first = await start()
        assert (await asyncio.wait_for(sub.next(), 10)).service_id == first
        await bus_a.stop()  # a stalls while b writes more than the outbox keeps
        for _ in range(12):
            await start()
        async with runtime(b).db.read() as conn:
            assert 0 < len((await conn.execute(select(event_outbox.c.id))).all()) <= 5 + 2
        await bus_a.start()
        with pytest.raises(Unavailable, match="fell behind"):
            while True:
                await asyncio.wait_for(sub.next(), 10)
