"""The SQLite bus: a change committed by another process is noticed through `PRAGMA data_version`.

Each process keeps one connection of its own that asks SQLite, every CHECK_SECONDS (HURRY_SECONDS while a
mode switch runs), whether another connection has committed since it last asked. The answer comes from the
write-ahead log's index in shared memory: the check reads no page and writes nothing. When it moved,
`changes` fires and the mode watcher reads the server state again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.events.bus import LocalBus

log = logging.getLogger("ucs.events")

CHECK_SECONDS = 0.05
HURRY_SECONDS = 0.005  # while a mode switch runs


class SqliteBus(LocalBus):
    """In-process delivery after commit; other processes' commits noticed through `PRAGMA data_version`."""

    def __init__(self, database_url: str, poll_seconds: float = 1.0, origin: str = "") -> None:
        super().__init__(poll_seconds)
        path = sqlite_path(database_url)
        if path is None:
            raise ValueError(f"not a SQLite URL: {database_url}")
        self.path = str(path)
        self.origin = origin
        self.checks = 0  # data_version checks made (bench/idle.py prints them)
        self._conn: sqlite3.Connection | None = None

    @property
    def reaction_seconds(self) -> float:
        return CHECK_SECONDS

    async def start(self) -> None:
        # Autocommit, and never a wait on a lock: the check is a read of the log's index.
        self._conn = await asyncio.to_thread(
            sqlite3.connect, self.path, timeout=0, isolation_level=None, check_same_thread=False)
        self._run(self._watch(), "ucs-data-version")

    async def stop(self) -> None:
        await super().stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _version(self) -> int | None:
        """The connection's data version (None when SQLite could not answer at once)."""
        assert self._conn is not None
        self.checks += 1
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    async def _watch(self) -> None:
        last = self._version()
        while True:
            await asyncio.sleep(HURRY_SECONDS if self.hurry() else CHECK_SECONDS)
            # A few microseconds, on the loop: the check reads shared memory and never waits for a lock.
            version = self._version()
            if version is None or version != last:
                last = version
                self.changes.fire()
