"""Graceful shutdown of `ucs-graphql serve`: SIGTERM during a burst of writes stops accepting connections,
finishes the requests in flight (bounded by drain_seconds) and exits 0; every acknowledged write is stored,
and every request the server started got its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HANG_GUARD_SECONDS = 60
BURST_CLIENTS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A `ucs-graphql serve` subprocess on a temporary SQLite database, logging JSON lines to a file."""

    proc: asyncio.subprocess.Process
    base_url: str
    db_path: Path
    log_path: Path

    def access_request_ids(self) -> set[str]:
        """Request ids of every request the server wrote an access-log line for (i.e. started)."""
        out = set()
        for line in self.log_path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if doc.get("logger") == "ucs.access":
                    out.add(doc["request_id"])
        return out

    def stored_extensions(self) -> set[str]:
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            return {name for (name,) in conn.execute("SELECT name_lc FROM extension_schema WHERE level = 'task'")}


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, drain_seconds: float) -> AsyncIterator[Server]:
    """Start the server, wait until it is ready, and make sure it is gone afterwards."""
    port = free_port()
    db_path = tmp_path / "ucs.db"
    config = tmp_path / "ucs.toml"
    config.write_text(f"drain_seconds = {drain_seconds}\nlog_format = \"json\"\naccess_log = true\n")
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ucs_graphql.cli", "serve", "--port", str(port), "--database",
            f"sqlite:///{db_path}", "--config", str(config), stdout=log, stderr=log)
    server = Server(proc, f"http://127.0.0.1:{port}", db_path, log_path)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as client, asyncio.timeout(HANG_GUARD_SECONDS):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                assert proc.returncode is None, log_path.read_text()
                await asyncio.sleep(0.1)
        yield server
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@contextlib.contextmanager
def sqlite_write_lock(db_path: Path) -> Iterator[None]:
    """Hold the database's write lock, so that writes arriving meanwhile stay in flight."""
    conn = sqlite3.connect(db_path, isolation_level=None)
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
    async with serve(tmp_path, drain_seconds=10) as server:
        burst = Burst()
        writers = [asyncio.create_task(burst.writer(server.base_url, n)) for n in range(BURST_CLIENTS)]
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            await burst.warmed.wait()
            with sqlite_write_lock(server.db_path):
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
        stored = server.stored_extensions()
        assert burst.acknowledged() <= stored  # every acknowledged write is stored
        assert stored <= burst.acknowledged()  # and nothing was stored without an answer
        started = server.access_request_ids()
        assert not (started & set(burst.cut)), "a started request was cut off without an answer"
        assert {rid for rid in started if rid.startswith("w")} <= set(burst.answers)


async def test_the_drain_is_bounded_by_drain_seconds(tmp_path):
    async with serve(tmp_path, drain_seconds=0.5) as server:
        burst = Burst()
        with sqlite_write_lock(server.db_path):
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
    assert not server.stored_extensions()
