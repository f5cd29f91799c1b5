"""Graceful shutdown of `ucs-graphql serve`: SIGTERM during a burst of writes stops accepting connections,
finishes the requests in flight (bounded by drain_seconds) and exits 0; every acknowledged write is stored,
and every request the server started got its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.server_process import ServerProcess, serve

HANG_GUARD_SECONDS = 60
BURST_CLIENTS = 16


@contextlib.asynccontextmanager
async def serve_sqlite(tmp_path: Path, drain_seconds: float) -> AsyncIterator[ServerProcess]:
    """The server on a new SQLite database in tmp_path."""
    async with serve(tmp_path, f"sqlite:///{tmp_path / 'ucs.db'}", f"drain_seconds = {drain_seconds}\n") as server:
        yield server


def db_path(server: ServerProcess) -> Path:
    return server.log_path.parent / "ucs.db"


def stored_extensions(server: ServerProcess) -> set[str]:
    with contextlib.closing(sqlite3.connect(db_path(server))) as conn:
        return {name for (name,) in conn.execute("SELECT name_lc FROM extension_schema WHERE level = 'task'")}


@contextlib.contextmanager
def sqlite_write_lock(path: Path) -> Iterator[None]:
    """Hold the database's write lock, so that writes arriving meanwhile stay in flight."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@dataclass
class Burst:
    """Writers creating uniquely named extension schemas until the server refuses connections."""

    answers: dict[str, tuple[int, float]] = field(default_factory=dict)  # request id -> (status, when)
    cut: dict[str, str] = field(default_factory=dict)  # request id -> transport error (started, no answer)
    warm_after: int = 50
    warmed: asyncio.Event = field(default_factory=asyncio.Event)  # set after `warm_after` answers

    async def writer(self, base_url: str, n: int) -> None:
        # No keep-alive: each request opens its own connection, so none races a closing idle connection.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            for i in range(100_000):
                name = f"w{n}n{i}"
                body = {"name": name, "type": "single-valued",
                        "attributes": [{"name": "a", "type": "string", "length": 5}]}
                try:
                    resp = await client.post("/metadata/tasks/extensions", json=body, headers={"X-Request-Id": name})
                except httpx.ConnectError:
                    return  # the server no longer accepts connections: the burst is over for this writer
                except httpx.TransportError as err:
                    self.cut[name] = type(err).__name__
                    return
                self.answers[name] = (resp.status_code, time.monotonic())
                if len(self.answers) >= self.warm_after:
                    self.warmed.set()

    def acknowledged(self) -> set[str]:
        return {name for name, (status, _) in self.answers.items() if status == 201}


async def test_sigterm_during_a_burst_drains_in_flight_writes_and_exits_0(tmp_path):
    async with serve_sqlite(tmp_path, drain_seconds=10) as server:
        burst = Burst()
        writers = [asyncio.create_task(burst.writer(server.base_url, n)) for n in range(BURST_CLIENTS)]
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            await burst.warmed.wait()
            with sqlite_write_lock(db_path(server)):
                await asyncio.sleep(0.3)  # the writers' next requests are now in flight, waiting for the lock
                terminated_at = time.monotonic()
                server.proc.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
            await asyncio.gather(*writers)
            returncode = await server.proc.wait()
        log = server.log_path.read_text()
        assert returncode == 0, log
        assert "Traceback" not in log, log

        statuses = {status for status, _ in burst.answers.values()}
        assert statuses == {201}, statuses
        drained = [name for name, (_, when) in burst.answers.items() if when > terminated_at]
        assert drained, "no request was in flight when SIGTERM arrived"
        stored = stored_extensions(server)
        assert burst.acknowledged() <= stored  # every acknowledged write is stored
        assert stored <= burst.acknowledged()  # and nothing was stored without an answer
        started = {doc["request_id"] for doc in server.access_records()}
        assert not (started & set(burst.cut)), "a started request was cut off without an answer"
        assert {rid for rid in started if rid.startswith("w")} <= set(burst.answers)


async def test_the_drain_is_bounded_by_drain_seconds(tmp_path):
    async with serve_sqlite(tmp_path, drain_seconds=0.5) as server:
        burst = Burst()
        with sqlite_write_lock(db_path(server)):
            writer = asyncio.create_task(burst.writer(server.base_url, 0))
            await asyncio.sleep(0.3)  # a write waits for the lock, longer than the drain allows
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.5)
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            returncode = await server.proc.wait()
            await writer
    log = server.log_path.read_text()
    assert returncode == 0, log
    assert "timeout graceful shutdown exceeded" in log
    assert [status for status, _ in burst.answers.values()] == [503], burst.answers  # cut off, yet answered
    assert not burst.cut
    assert not stored_extensions(server)
