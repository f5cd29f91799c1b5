"""The SQLite bus: a change committed by another process is noticed through `PRAGMA data_version`, and journey
events reach the other processes on the same file through the event_outbox table.

Each process keeps one connection of its own that asks SQLite, every CHECK_SECONDS (HURRY_SECONDS while a
mode switch runs), whether another connection has committed since it last asked. The answer comes from the
write-ahead log's index in shared memory: the check reads no page and writes nothing. When it moved, the
bus reads, on that connection:

- server_state and server_worker (a few rows). When they differ from the last read, `changes` fires and
  the mode watcher reads the state again; other commits (most of them) wake nobody. While other live
  workers are registered, a journey write adds its events to event_outbox, as one row in the write's own
  transaction; a lone process writes nothing more than before. A worker that starts waits until the others
  had time to notice it before it serves. A registered worker whose lock is released
  (ucs_graphql.events.worker_locks: it was killed without leaving) is no peer: its row and lock file are
  removed at once, in a write transaction of their own.
- when this process has subscribers, the outbox rows other processes added since the last read (else
  only the newest row's id, where its first subscriber will start), delivered in commit order (SQLite has
  one writer at a time, so ids follow commits). Every PRUNE_EVERY-th row removes the rows older than the
  newest KEEP_ROWS; a process that fell further behind than that ends its subscriptions as a slow
  subscriber's are ended ("subscribe again").

Events of this process are delivered to its own subscribers after the commit, without the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.db.fast import FastStatement
from ucs_graphql.db.tables.server import event_outbox
from ucs_graphql.events.bus import Event, LocalBus
from ucs_graphql.events.worker_locks import WorkerLocks
from ucs_graphql.kit import jsonio

log = logging.getLogger("ucs.events")

CHECK_SECONDS = 0.05
HURRY_SECONDS = 0.005  # while a mode switch runs
KEEP_ROWS = 10_000
PRUNE_EVERY = 100
READ_ROWS = 1000

_ADD = FastStatement(insert(event_outbox).values(origin=bindparam("origin"), payload=bindparam("payload"))
                     .returning(event_outbox.c.id))
_PRUNE = FastStatement(delete(event_outbox).where(event_outbox.c.id <= bindparam("upto")))


# Read on the bus's own sqlite3 connection.
_STATE = "SELECT name, value FROM server_state ORDER BY name"
_WORKERS = "SELECT worker_id, seen_generation, inflight FROM server_worker ORDER BY worker_id"
_NEWEST = "SELECT coalesce(max(id), 0) FROM event_outbox"
_OLDEST = "SELECT min(id) FROM event_outbox"
_SINCE = f"SELECT id, payload FROM event_outbox WHERE id > ? AND origin != ? ORDER BY id LIMIT {READ_ROWS}"
_FORGET = "DELETE FROM server_worker WHERE worker_id IN ({})"


class SqliteBus(LocalBus):
    """In-process delivery after commit; other processes' commits noticed through `PRAGMA data_version`, their
    events read from the outbox."""

    def __init__(self, database_url: str, poll_seconds: float = 1.0, origin: str = "", timeout: float = 5.0) -> None:
        super().__init__(poll_seconds)
        path = sqlite_path(database_url)
        if path is None:
            raise ValueError(f"not a SQLite URL: {database_url}")
        self.path = str(path)
        self.origin = origin
        self.timeout = timeout  # the wait for the write lock when a dead worker's row is removed
        self.locks = WorkerLocks(path, origin)
        self.checks = 0  # data_version checks made (bench/idle.py prints them)
        self.peers = False  # other live workers are registered: events go to the outbox too
        self._last: int | None = None  # the newest outbox row read or skipped
        self._state: Any = None  # the server state and the workers' rows as last read
        self._conn: sqlite3.Connection | None = None
        # One user of the connection at a time: the check on the loop, a read or the close in a thread (a read
        # still running when the bus stops is waited for before the connection closes).
        self._lock = threading.Lock()

    @property
    def reaction_seconds(self) -> float:
        return CHECK_SECONDS

    async def stage(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if not events or not self.peers:
            return
        payload = "[" + ",".join(e.encode() for e in events) + "]"
        (row,) = await _ADD.fetch(conn, {"origin": self.origin, "payload": payload})
        if row[0] % PRUNE_EVERY == 0:
            await _PRUNE.fetch(conn, {"upto": row[0] - KEEP_ROWS})

    async def before_register(self) -> None:
        await asyncio.to_thread(self._hold)

    async def after_unregister(self, left: bool) -> None:
        await asyncio.to_thread(self.locks.release, left)

    def _hold(self) -> None:
        """Hold this worker's lock, then remove the rows and files of the dead workers whose files are beside it."""
        if self.locks.hold():
            self._bury(self.locks.others())

    async def start(self) -> None:
        # Autocommit, and never a wait on a lock: the check is a read of the log's index.
        self._conn = await asyncio.to_thread(
            sqlite3.connect, self.path, timeout=0, isolation_level=None, check_same_thread=False)
        version = self._version()
        await self._changed()
        self._run(self._watch(version), "ucs-data-version")
        if self.peers:
            # This worker registered before the bus started: let the others notice it before it serves.
            await asyncio.sleep(2 * CHECK_SECONDS)

    async def stop(self) -> None:
        await super().stop()
        if self._conn is not None:
            await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _version(self) -> int | None:
        """The connection's data version (None when SQLite could not answer at once, or the connection is in
        use: read then)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self.checks += 1
            if self._conn is None:
                return None
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None
        finally:
            self._lock.release()

    async def _watch(self, last: int | None) -> None:
        """Check every CHECK_SECONDS from data version `last` on, and read when it moved."""
        while True:
            await asyncio.sleep(HURRY_SECONDS if self.hurry() else CHECK_SECONDS)
            # A few microseconds, on the loop: the check reads shared memory and never waits for a lock.
            version = self._version()
            if version is None or version != last:
                last = version
                try:
                    await self._changed()
                except sqlite3.Error as err:
                    log.debug("could not read the server state or the event outbox: %s", err)
                    self.changes.fire()  # the watcher reads the state its own way
                    last = None  # read again at the next check

    async def _changed(self) -> None:
        follow = self.subscribers > 0
        state, lost, payloads = await asyncio.to_thread(self._read, follow)
        # Most commits are other data: the watcher is woken only when the server state or a worker's row moved.
        if state != self._state:
            self._state = state
            self.peers = any(worker_id != self.origin for worker_id, _seen, _inflight in state[1])
            self.changes.fire()
        if lost:
            log.warning("events of other processes were pruned before this process read them: its "
                        "subscriptions end and their clients subscribe again")
            self.drop_subscribers()
        for payload in payloads:
            for raw in jsonio.loads(payload):
                with contextlib.suppress(TypeError):
                    self.deliver(Event.of(raw))

    def _read(self, follow: bool) -> tuple[Any, bool, list[str]]:
        """(the server state and the live workers' rows, outbox rows lost, payloads of other processes since
        the last read)."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise sqlite3.ProgrammingError("the bus is stopped")
            (values, workers), lost, payloads = self._read_on(conn, follow)
        return (values, self._live(workers)), lost, payloads

    def _live(self, workers: list[Any]) -> list[Any]:
        """The rows of `workers` that belong to live workers; those of dead ones are deleted, on a connection of
        its own (the bus's never waits for a lock), while their locks are held."""
        if not any(worker_id != self.origin for worker_id, *_rest in workers):
            return workers
        dead = self._bury([worker_id for worker_id, *_rest in workers])
        return [row for row in workers if row[0] not in dead]

    def _bury(self, worker_ids: list[str]) -> list[str]:
        """The dead workers among `worker_ids`, whose rows are deleted and files removed, while their locks are held
        (when their rows cannot be deleted, both are left for the next read, or a mode switch)."""
        dead: list[str] = []
        try:
            with self.locks.dead(worker_ids) as dead:
                if dead:
                    self._forget(dead)
        except sqlite3.Error as err:
            log.debug("could not remove the rows of dead workers %s: %s", ", ".join(dead), err)
        return dead

    def _forget(self, dead: list[str]) -> None:
        with contextlib.closing(sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)) as conn:
            removed = conn.execute(_FORGET.format(",".join("?" * len(dead))), dead).rowcount
        if removed:
            log.warning("worker(s) %s ended without leaving (their lock is released): their rows are removed",
                        ", ".join(dead))

    def _read_on(self, conn: sqlite3.Connection, follow: bool) -> tuple[Any, bool, list[str]]:
        state = (conn.execute(_STATE).fetchall(), conn.execute(_WORKERS).fetchall())
        if not follow or self._last is None:
            # Without subscribers only the position is kept, so the first subscriber gets what follows.
            self._last = int(conn.execute(_NEWEST).fetchone()[0])
            return state, False, []
        oldest = conn.execute(_OLDEST).fetchone()[0]
        lost = oldest is not None and oldest > self._last + 1
        payloads: list[str] = []
        while True:
            rows = conn.execute(_SINCE, (self._last, self.origin)).fetchall()
            payloads += [payload for _id, payload in rows]
            if rows:
                self._last = int(rows[-1][0])
            if len(rows) < READ_ROWS:
                return state, lost, payloads
