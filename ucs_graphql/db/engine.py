"""Engines and the unit of work, one code path for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with one writer connection (BEGIN IMMEDIATE) and a pool of readers;
PostgreSQL uses one asyncpg pool. Write transactions are retried on contention with bounded backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ucs_graphql.db.errors import is_retryable, is_unreachable
from ucs_graphql.kit.errors import Unavailable

log = logging.getLogger("ucs.db")

T = TypeVar("T")

WRITE_RETRIES = 8


def async_url(url: str) -> str:
    """The SQLAlchemy async URL for one of the accepted forms (sqlite:///..., postgresql://...)."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite URL (None for other engines)."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def _sqlite_engine(url: str, *, writer: bool, pool_size: int, timeout: float) -> AsyncEngine:
    path = sqlite_path(url)
    if path is not None and str(path) not in ("", ":memory:"):
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        async_url(url),
        pool_size=1 if writer else pool_size,
        max_overflow=0,
        pool_timeout=timeout,
        connect_args={"timeout": timeout},
    )
    busy_ms = int(timeout * 1000)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def _pg_engine(url: str, *, pool_size: int, timeout: float) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout,
        pool_pre_ping=False,
        connect_args={"timeout": timeout, "command_timeout": max(timeout * 6, 30.0)},
    )


class Database:
    """The unit of work: short read transactions and retried write transactions."""

    def __init__(self, url: str, *, pool_size: int = 10, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, writer=True, pool_size=1, timeout=timeout)
            self.reader = _sqlite_engine(url, writer=False, pool_size=pool_size, timeout=timeout)
        else:
            self.writer = _pg_engine(url, pool_size=pool_size, timeout=timeout)
            self.reader = self.writer
        self.retries = 0

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a SQLite reader connection, or the PostgreSQL pool)."""
        try:
            async with self.reader.connect() as conn:
                async with conn.begin():
                    yield conn
        except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError) as err:
            raise self._as_unavailable(err) from err

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on success and rolled back on any error (no retry)."""
        async with self.writer.connect() as conn:
            async with conn.begin():
                yield conn

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `work` in one write transaction, retrying it on contention with bounded backoff.

        When retries run out, or the database cannot be reached, raises Unavailable (503).
        """
        delay = 0.005
        for attempt in range(WRITE_RETRIES + 1):
            try:
                async with self.transaction() as conn:
                    return await work(conn)
            except (sa_exc.OperationalError, sa_exc.DBAPIError) as err:
                if isinstance(err, sa_exc.IntegrityError):
                    raise
                if is_retryable(err) and attempt < WRITE_RETRIES:
                    self.retries += 1
                    await asyncio.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._as_unavailable(err) from err
            except (OSError, TimeoutError) as err:
                raise self._as_unavailable(err) from err
        raise Unavailable("the database is busy; retry later")  # pragma: no cover - loop always returns

    def _as_unavailable(self, err: BaseException) -> BaseException:
        if is_retryable(err):
            return Unavailable("the database is busy; retry later")
        if is_unreachable(err) or isinstance(err, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            log.warning("database unavailable: %s", type(err).__name__)
            return Unavailable("the database is unavailable; retry later", retry_after=5)
        return err


def throwaway_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off work (migrations, tools)."""
    return create_async_engine(async_url(url), poolclass=NullPool)
