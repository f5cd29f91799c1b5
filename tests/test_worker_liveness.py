"""A worker killed without leaving (SIGKILL) costs nothing once it is gone: on SQLite its released lock shows it
dead at once (ucs_graphql.events.worker_locks), so a server started after it stages no event for it and a mode
switch does not wait for it; on PostgreSQL a mode switch presumes it gone after live_seconds, as before. Live
workers are never removed, and a clean stop leaves no row and no lock file."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import httpx
import pytest
from sqlalchemy import func, select

from bench.launch import launched
from tests.conftest import wipe
from tests.server_process import ServerProcess, serve, serve_several
from ucs_graphql.db.engine import sqlite_path, throwaway_engine
from ucs_graphql.db.tables.server import event_outbox, server_state, server_worker
from ucs_graphql.events.worker_locks import folder_of
from ucs_graphql.server.service import LIVE_SECONDS, LOCAL_CHECK_SECONDS, next_pause

# What a mode switch logs when it presumes a worker gone (ucs_graphql.server.service).
PRESUMED = "did not acknowledge the mode switch"


async def workers(url: str) -> set[str]:
    """The worker ids registered in server_worker."""
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            return {row[0] for row in await conn.execute(select(server_worker.c.worker_id))}
    finally:
        await engine.dispose()


async def outbox_rows(url: str) -> int:
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(event_outbox)) or 0)
    finally:
        await engine.dispose()


async def registered(url: str, count: int) -> set[str]:
    """The registered workers, once there are `count` (at most about 10 s: a guard against a hang)."""
    for _ in range(500):
        found = await workers(url)
        if len(found) == count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} workers never registered: {found}")


def lock_files(url: str) -> set[str]:
    path = sqlite_path(url)
    assert path is not None
    folder = folder_of(path)
    return {p.stem for p in folder.iterdir()} if folder.exists() else set()


async def sigkill(server: ServerProcess) -> None:
    server.proc.send_signal(signal.SIGKILL)
    await server.proc.wait()


async def logged(server: ServerProcess, text: str) -> None:
    """Wait until the server's log says `text` (it writes its log lines a few milliseconds late, on a thread of
    its own; at most about 5 s)."""
    for _ in range(100):
        if any(text in str(doc.get("message")) for doc in server.log_records()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never logged: {text}")


async def start_services(base_url: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(count):
            resp = await http.post("/services/start", json={"service_type": 1, "customer_id": "CK"})
            assert resp.status_code == 201, resp.text


async def test_a_server_started_after_a_killed_one_stages_no_event_for_it(database_url, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the event outbox and the workers' locks are SQLite's")
    try:
        for n in range(2):
            (tmp_path / str(n)).mkdir()
        async with serve(tmp_path / "0", database_url) as first:
            (dead,) = await registered(database_url, 1)
            assert lock_files(database_url) == {dead}
            await sigkill(first)
        assert await workers(database_url) == {dead}  # killed, it left its row behind
        async with serve(tmp_path / "1", database_url) as second:
            (alive,) = await workers(database_url)
            assert alive != dead  # the dead worker's row was removed when the new one started
            assert lock_files(database_url) == {alive}
            before = await outbox_rows(database_url)
            await start_services(second.base_url, 3)
            assert await outbox_rows(database_url) == before  # a lone worker writes no outbox row
            await logged(second, "ended without leaving")
    finally:
        await wipe(database_url)


async def test_a_mode_switch_after_a_worker_was_killed(database_url, backend, tmp_path):
    """SQLite: the switch does not wait for the killed worker (its lock is released: it is removed as soon as
    the switch's first write is read). PostgreSQL: it is presumed gone after live_seconds, as before."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            victim, survivor = await serve_several(stack, tmp_path, database_url, 2)
            both = await registered(database_url, 2)
            await sigkill(victim)
            assert await workers(database_url) == both
            async with httpx.AsyncClient(base_url=survivor.base_url, timeout=60) as http:
                began = time.monotonic()
                resp = await http.post("/server/mode", json={"mode": "maintenance"})
                took = time.monotonic() - began
                assert resp.status_code == 200, resp.text
                assert (await http.get("/server/status")).json()["mode"] == "maintenance"
            print(f"the switch took {took * 1000:.0f} ms")
            assert len(await workers(database_url)) == 1  # the killed worker's row is gone
            if backend == "sqlite":
                await logged(survivor, "ended without leaving")
                assert took < LIVE_SECONDS, took
                assert PRESUMED not in survivor.log_path.read_text()
            else:
                await logged(survivor, PRESUMED)
                assert took >= LIVE_SECONDS, took
                assert took < 4 * LIVE_SECONDS, took  # not the switch's whole timeout (60 s)
    finally:
        await wipe(database_url)


async def stored_mode(url: str) -> str | None:
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(select(server_state.c.value).where(server_state.c.name == "mode"))
    finally:
        await engine.dispose()


@pytest.mark.postgres_only
async def test_a_switch_whose_worker_is_killed_half_way_is_recovered_by_a_worker_started_after(
        database_url, tmp_path):
    """The switching worker is killed while its switch waits for a worker killed before it: the database is left
    switching. A worker started after recovers it once it outlived the longest a switch may take (2 s with
    its settings), instead of answering 503 for ever. PostgreSQL only: on SQLite the first killed worker is
    known dead at once, and the switch is over before it can be killed."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            victim, switcher = await serve_several(stack, tmp_path, database_url, 2)
            await registered(database_url, 2)
            await sigkill(victim)
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=switcher.base_url, timeout=30))
            switch = asyncio.create_task(http.post("/server/mode", json={"mode": "maintenance"}))
            for _ in range(200):
                if (await stored_mode(database_url) or "").startswith("switching:"):
                    break
                await asyncio.sleep(0.01)
            assert await stored_mode(database_url) == "switching:maintenance"
            await sigkill(switcher)
            with contextlib.suppress(httpx.HTTPError):
                await switch
            assert await stored_mode(database_url) == "switching:maintenance"  # nobody left to finish it
            (tmp_path / "2").mkdir()
            rescuer = await stack.enter_async_context(serve(
                tmp_path / "2", database_url, "mode_switch_timeout_seconds = 1\nrequest_timeout_seconds = 1\n"))
            began = time.monotonic()
            async with httpx.AsyncClient(base_url=rescuer.base_url, timeout=10) as client:
                for _ in range(200):
                    if (await client.get("/profiles/nobody")).status_code == 404:
                        break
                    await asyncio.sleep(0.05)
                assert (await client.get("/profiles/nobody")).status_code == 404  # not 503
                assert (await client.get("/server/status")).json()["mode"] == "production"
            assert time.monotonic() - began < 8
            await logged(rescuer, "was abandoned")
            assert await stored_mode(database_url) == "production"
    finally:
        await wipe(database_url)


def test_a_switch_whose_read_ended_past_the_presumption_reads_again_at_once():
    """The rule behind a switch that, now and then, waited its whole timeout (60 s) for a killed worker instead
    of live_seconds: its wait woke a moment before presume_gone_at (a timer firing a little early, or a change
    signal), so the read did not presume; the read ended after it, and the next wait ran to the deadline."""
    deadline, presume_gone_at = 100.0, 3.0
    # The read just made did not presume, and ended after presume_gone_at: the next one comes at once.
    assert next_pause(3.002, deadline, presume_gone_at, presumed=False, local_ok=True) == 0.0
    # It did not, and it is not time yet: wait until it is (or a change comes).
    assert next_pause(1.0, deadline, presume_gone_at, presumed=False, local_ok=True) == 2.0
    # It did: only the deadline, or the process's own requests, bound the wait.
    assert next_pause(3.002, deadline, presume_gone_at, presumed=True, local_ok=True) == deadline - 3.002
    assert next_pause(3.002, deadline, presume_gone_at, presumed=True, local_ok=False) == LOCAL_CHECK_SECONDS
    assert next_pause(99.99, deadline, presume_gone_at, presumed=False, local_ok=True) == 0.0


async def test_live_workers_on_one_sqlite_file_stay_peers_and_leave_nothing_at_a_clean_stop(
        database_url, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the event outbox and the workers' locks are SQLite's")
    try:
        async with launched(database_url, tmp_path, workers=2) as server:
            both = await registered(database_url, 2)
            assert lock_files(database_url) == both
            await asyncio.sleep(0.5)  # the first worker notices the second within 50 ms
            before = await outbox_rows(database_url)
            await start_services(server.url, 6)
            # Each write of either worker moves the data version, and both read the workers' rows again.
            await asyncio.sleep(0.3)
            assert await workers(database_url) == both  # no live worker is removed
            assert await outbox_rows(database_url) == before + 6  # each write is staged for the other worker
        assert server.proc.returncode == 0
        assert await workers(database_url) == set()
        assert lock_files(database_url) == set()
    finally:
        await wipe(database_url)
