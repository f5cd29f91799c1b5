"""Engines and the unit of work, one code path for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with one writer connection (BEGIN IMMEDIATE) and a pool of readers;
PostgreSQL uses one asyncpg pool. Write transactions are retried on contention with bounded backoff.

Nothing waits longer than the configured timeout: connecting, waiting for a pooled connection, a lock
(SQLite busy timeout, PostgreSQL lock_timeout) and each statement's round trip are bounded, and a write
stops retrying at its deadline. Whatever the database cannot do in time is Unavailable (503, Retry-After).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_

from ucs_graphql.db.errors import as_unique_violation, is_retryable, is_unreachable, is_unstorable_text
from ucs_graphql.kit.errors import AlreadyExists, BadParameter, Unavailable

log = logging.getLogger("ucs.db")

T = TypeVar("T")

WRITE_RETRIES = 8
# Connections a SQLite server reads with on the event loop's thread (reads seldom overlap there: one that
# finds every quick reader lent goes to the ordinary readers).
QUICK_READERS = 4
# Up to this many keys, a read by key (a batch of a GraphQL loader) counts as quick.
FEW_KEYS = 64
# Every this many commits of SQLite's quick writer, a worker thread checkpoints the log (about 4 pages each).
CHECKPOINT_EVERY = 200
# Times a quick write waits for this process's writes through the driver's thread before going that way too.
QUICK_WRITE_TRIES = 3
# Seconds a client is asked to wait: contention clears fast, an outage takes longer.
RETRY_AFTER_BUSY = 1
RETRY_AFTER_DOWN = 5

# What the drivers, the pool and the network raise when the database cannot answer in time.
_DB_FAILURES = (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, TimeoutError)


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


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file (./var on a fresh clone) when it is missing."""
    path = sqlite_path(url)
    if path is not None and str(path) not in ("", ":memory:"):
        path.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, writer: bool, pool_size: int, timeout: float) -> AsyncEngine:
    ensure_sqlite_directory(url)
    engine = create_async_engine(
        async_url(url),
        hide_parameters=True,  # a statement's values never reach an error message, hence never a log line
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

    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A read's or write's BEGIN in one trip to the connection's thread (through SQLAlchemy it takes three:
        # cursor, execute, close); a read of one statement then costs three trips: BEGIN, the statement, COMMIT.
        # A busy database is SQLAlchemy's OperationalError, as through SQLAlchemy, which writes retry.
        driver = conn.connection.driver_connection
        try:
            await_(driver.execute_fetchall(begin))
        except sqlite3.Error as err:
            raise sa_exc.DBAPIError.instance(begin, [], err, sqlite3.Error, hide_parameters=True) from err
        except BaseException:
            # Cancelled (a GraphQL field whose sibling failed) while the connection's thread runs the BEGIN,
            # which it still does: a ROLLBACK queued behind it ends that transaction, which SQLAlchemy takes
            # as never begun, before the connection is lent again (its next BEGIN would fail otherwise).
            with contextlib.suppress(BaseException):
                await_(driver.execute_fetchall("ROLLBACK"))
            raise

    return engine


class _Inline:
    """Stands in for the queue to an aiosqlite connection's thread: runs each call at once, on the caller's
    thread, and settles its future there (SQLAlchemy's adapter and aiosqlite's own close put calls on it)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        fut, call = item
        try:
            result = call()
        except BaseException as err:  # handed to the waiting caller, as the thread would
            if fut is not None and not fut.done():
                fut.set_exception(err)
            return
        if fut is not None and not fut.done():
            fut.set_result(result)


class _LoopSqlite(aiosqlite.Connection):
    """An aiosqlite connection whose calls run at once on the event loop's thread instead of in a thread of
    its own: every call is over when it returns, so no call of this connection is ever running while the loop
    does something else (a cancelled read cannot leave a statement running), and a statement costs no trip
    to another thread and back. Used only by the quick readers (see `Database.read`)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, 64)
        self._tx = _Inline()  # type: ignore[assignment]

    def _open(self) -> sqlite3.Connection:
        """The sqlite3 connection, or aiosqlite's error for a closed one."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return self._connection

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._open()
        return fn(*args, **kwargs)

    async def execute_fetchall(  # type: ignore[override]
        self, sql: str, parameters: Sequence[Any] | None = None
    ) -> list[Any]:
        """Every row of `sql`, run now: aiosqlite's own wraps the call in a Result and hands it to `_execute`
        through a partial, none of which a call that never waits needs (FastStatement runs the hot paths'
        statements this way)."""
        return self._open().execute(sql, [] if parameters is None else parameters).fetchall()

    async def _connect(self) -> _LoopSqlite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, _LoopSqlite]:
        return self._connect().__await__()  # no thread to start


# Takes a read transaction's snapshot (reads page 1): run after BEGIN, so that a busy database shows at once.
_SNAPSHOT = "PRAGMA schema_version"


def _sqlite_loop_engine(url: str, *, pool_size: int, timeout: float, writer: bool = False) -> AsyncEngine:
    """Read-only connections used on the event loop's thread (opened in a worker thread, where a database
    needing recovery may make them wait). They never wait for a lock: busy at the start of a read, the read
    goes to the ordinary readers instead. `writer`: the quick writer's connection instead (writable, never
    checkpointing the log itself: see `Database.write`)."""
    path = str(sqlite_path(url))

    def open_raw() -> sqlite3.Connection:
        raw = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            if writer:
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute("PRAGMA wal_autocheckpoint=0")
            else:
                raw.execute("PRAGMA query_only=ON")
            raw.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            raw.close()
            raise
        return raw

    async def connect() -> _LoopSqlite:
        raw = await asyncio.to_thread(open_raw)
        return await _LoopSqlite(lambda: raw)

    return create_async_engine(
        async_url(url),
        hide_parameters=True,
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=timeout,
    )


def _pg_engine(
    url: str, *, pool_size: int, timeout: float, statement_timeout: float, autocommit: bool = False
) -> AsyncEngine:
    # lock_timeout below the request timeout leaves room for one retry before the write's deadline.
    lock_ms = max(int(timeout * 500), 50)
    return create_async_engine(
        async_url(url),
        hide_parameters=True,  # a statement's values never reach an error message, hence never a log line
        # Set once per pooled connection (not at every checkout, as an option on a shared engine would).
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        # A fixed pool: overflow connections would be opened and closed again under every burst.
        # Every use ends its own transaction (commit or rollback), so no reset is needed on return.
        pool_reset_on_return=None,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=timeout,
        pool_pre_ping=False,
        connect_args={
            "timeout": timeout,
            "command_timeout": statement_timeout,
            "server_settings": {"lock_timeout": f"{lock_ms}ms"},
        },
    )


class _Readers:
    """Connections of one engine (the readers', or the writer's), opened on first need (at most `size`), kept
    checked out of the engine's pool and lent to one read or write at a time: each then costs no pool checkout
    and return, no greenlet switch for them and no new connection object. A caller finding every connection
    lent waits (first come, first served) up to `timeout`, then gets the pool's TimeoutError, as from the
    engine's own pool.

    `forget_idle()` drops the idle connections after an outage; connections lent at that moment are dropped
    when they come back (their generation is past).
    """

    def __init__(self, engine: AsyncEngine, size: int, timeout: float) -> None:
        self.engine = engine
        self.size = size
        self.timeout = timeout
        self.idle: list[AsyncConnection] = []
        self.opened = 0  # connections open or being opened, idle and lent
        self.lent = 0
        self.generation = 0
        self._born: dict[int, int] = {}  # id(connection) -> generation it was opened in
        # Each waiter (deadline, future) gets a connection, or None: a free place to open one in.
        self._waiters: deque[tuple[float, asyncio.Future[AsyncConnection | None]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def borrow(self) -> AsyncConnection:
        """A connection for one read; give it back with `give_back` or `discard`."""
        if self.idle:
            self.lent += 1
            return self.idle.pop()
        if self.opened < self.size:
            self.opened += 1
        else:
            handed = await self._wait()
            if handed is not None:
                self.lent += 1
                return handed
        try:
            conn = await self.engine.connect()
        except BaseException:
            self._free_place()
            raise
        self._born[id(conn)] = self.generation
        self.lent += 1
        return conn

    async def _wait(self) -> AsyncConnection | None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[AsyncConnection | None] = loop.create_future()
        self._waiters.append((loop.time() + self.timeout, fut))
        if self._timer is None:
            self._timer = loop.call_at(self._waiters[0][0], self._expire)
        try:
            return await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._pass_on(fut.result())  # handed over just as the wait ended: to the next caller
            else:
                fut.cancel()  # skipped when its turn comes
            raise

    def _expire(self) -> None:
        """Fail the waits that are over their deadline. One timer serves every waiter: waits end in the order
        they began, so it is armed for the oldest wait still pending."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiters = self._waiters
        while waiters and (waiters[0][1].done() or waiters[0][0] <= now):
            _, fut = waiters.popleft()
            if not fut.done():
                fut.set_exception(sa_exc.TimeoutError(f"no database connection free within {self.timeout} s"))
        if waiters:
            self._timer = loop.call_at(waiters[0][0], self._expire)

    def _hand_over(self, item: AsyncConnection | None) -> bool:
        while self._waiters:
            _, fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(item)
                return True
        return False

    def _pass_on(self, item: AsyncConnection | None) -> None:
        if item is None:
            self._free_place()
        elif not self._hand_over(item):
            self.idle.append(item)

    def _free_place(self) -> None:
        if not self._hand_over(None):
            self.opened -= 1

    async def give_back(self, conn: AsyncConnection) -> None:
        """The read is over: the connection is lent again (or dropped when it is broken or from before an outage)."""
        self.lent -= 1
        if conn.invalidated or conn.closed or self._born.get(id(conn)) != self.generation:
            self._drop(conn)
            return
        if conn.in_transaction():
            # A statement run through SQLAlchemy began its (autocommit) transaction: end it, as closing would.
            try:
                await conn.rollback()
            except Exception:
                self._drop(conn)
                return
        self._pass_on(conn)

    async def discard(self, conn: AsyncConnection) -> None:
        """The read failed because the server went away: the connection is invalidated and dropped."""
        self.lent -= 1
        with contextlib.suppress(Exception):
            if not conn.closed:
                await conn.invalidate()
        self._drop(conn)

    def forget_idle(self) -> None:
        """Drop every idle connection (after an outage they are dead too); lent ones are dropped on return."""
        self.generation += 1
        idle, self.idle = self.idle, []
        for conn in idle:
            self._drop(conn)

    def _drop(self, conn: AsyncConnection) -> None:
        """Close a connection at once (no goodbye to a server that may not answer) and free its place."""
        self._born.pop(id(conn), None)
        with contextlib.suppress(Exception):
            if not conn.closed and not conn.invalidated:
                # Outside a greenlet the driver connection is terminated without waiting for the server.
                conn.sync_connection.invalidate()  # type: ignore[union-attr]
        self._free_place()

    async def close(self) -> None:
        """Give every idle connection back to the engine's pool (before the engine is disposed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.generation += 1
        idle, self.idle = self.idle, []
        for conn in idle:
            self._born.pop(id(conn), None)
            with contextlib.suppress(Exception):
                await conn.close()
            self._free_place()


def _raise_already_exists(err: sa_exc.IntegrityError) -> None:
    """A unique violation no use case answered itself becomes AlreadyExists (logged); any other integrity error
    is left to the caller to raise again."""
    violation = as_unique_violation(err)
    if violation is not None:
        log.warning("unhandled unique violation (%s) answered as already exists", violation.constraint)
        raise AlreadyExists("a resource with these unique values already exists") from err


class Database:
    """The unit of work: short read transactions and retried write transactions."""

    def __init__(
        self, url: str, *, pool_size: int = 10, timeout: float = 5.0, statement_timeout: float | None = None
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.is_sqlite = url.startswith("sqlite")
        writers = 1 if self.is_sqlite else max(4, pool_size // 2)
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, writer=True, pool_size=1, timeout=timeout)
            self.reader = _sqlite_engine(url, writer=False, pool_size=pool_size, timeout=timeout)
        else:
            self.writer = _pg_engine(url, pool_size=writers, timeout=timeout,
                                     statement_timeout=statement_timeout or timeout)
            # Reads use their own pool in autocommit: no BEGIN/COMMIT round trips. Under READ COMMITTED each
            # statement takes its own snapshot anyway, so a read transaction would add nothing but latency.
            self.reader = _pg_engine(url, pool_size=pool_size, timeout=timeout,
                                     statement_timeout=statement_timeout or timeout, autocommit=True)
        self.readers = _Readers(self.reader, pool_size, timeout)
        self.writers = _Readers(self.writer, writers, timeout)
        # SQLite's quick readers: connections used on the event loop's thread for reads of a few rows by key.
        self.quick: _Readers | None = None
        if self.is_sqlite and str(sqlite_path(url)) not in ("", ":memory:"):
            size = min(pool_size, QUICK_READERS)
            self.quick = _Readers(_sqlite_loop_engine(url, pool_size=size, timeout=timeout), size, timeout)
        # SQLite's quick writer: one connection for journey writes on the event loop's thread (see `write`).
        self.quick_writer: _Readers | None = None
        if self.quick is not None:
            self.quick_writer = _Readers(_sqlite_loop_engine(url, pool_size=1, timeout=timeout, writer=True), 1,
                                         timeout)
        self.quick_reads = 0
        self.quick_fallbacks = 0
        self.quick_writes = 0
        self._quick_closed: set[str] = set()  # the quick pools ("reader", "writer") that could not open, warned once
        self._checkpoint: asyncio.Task[None] | None = None
        self._drained: asyncio.Event | None = None  # set when no write runs through the driver's thread
        self._checkpointer: sqlite3.Connection | None = None
        self.retries = 0
        self.waiting = 0

    def engines(self) -> list[AsyncEngine]:
        """Every engine this database runs statements on (for listeners of their events)."""
        return [self.writer, self.reader] + [q.engine for q in (self.quick, self.quick_writer) if q is not None]

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.quick is not None:
            await self.quick.close()
            await self.quick.engine.dispose()
        if self.quick_writer is not None:
            await self.quick_writer.close()
            await self.quick_writer.engine.dispose()
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        await self.readers.close()
        await self.writers.close()
        await self.writer.dispose()
        await self.reader.dispose()

    def pool_in_use(self) -> int:
        """Connections in use right now: lent to a write or a read."""
        return self.writers.lent + self.readers.lent

    async def _let_go(self, lender: _Readers, conn: AsyncConnection, err: BaseException) -> None:
        """Give back a connection whose use failed, unless the server went away: then neither it nor the idle
        ones are given back."""
        if is_unreachable(err):
            await lender.discard(conn)
            await self._forget_idle()
        else:
            await lender.give_back(conn)

    async def _forget_idle(self) -> None:
        """After an outage: drop the idle connections of both pools (opened before it, dead too), so service
        resumes at once."""
        self.readers.forget_idle()
        self.writers.forget_idle()
        with contextlib.suppress(Exception):
            await self.writer.dispose(close=False)
            await self.reader.dispose(close=False)

    async def _borrow(self, lender: _Readers) -> AsyncConnection:
        """A connection of `lender`; `waiting` counts callers until they have one."""
        if lender.idle:
            return await lender.borrow()
        self.waiting += 1
        try:
            return await lender.borrow()
        finally:
            self.waiting -= 1

    @asynccontextmanager
    async def read(self, *, quick: bool = False) -> AsyncIterator[AsyncConnection]:
        """A read: a SQLite reader connection in a transaction (one snapshot for every statement), or a
        PostgreSQL connection in autocommit (READ COMMITTED gives each statement its own snapshot anyway).

        `quick=True` says the read fetches a few rows by key. On SQLite it then runs on the event loop's thread,
        on a read-only connection, when one is free and the database lets it read at once (else as any read):
        a WAL read of a few pages takes less time than the two trips to the driver's thread and back that each
        statement costs otherwise. It sees every write committed before it began, as any read does."""
        if quick and self.quick is not None:
            conn = await self._quick_begin(self.quick)
            if conn is not None:
                async with self._quick_read(self.quick, conn) as got:
                    yield got
                return
        try:
            conn = await self._borrow(self.readers)
            try:
                if self.is_sqlite:
                    async with conn.begin():
                        yield conn
                else:
                    yield conn
            except BaseException as err:
                await self._let_go(self.readers, conn, err)
                raise
            await self.readers.give_back(conn)
        except _DB_FAILURES as err:
            mapped = self._as_unavailable(err)
            if mapped is err:
                raise
            raise mapped from err

    async def _quick_begin(self, lender: _Readers) -> AsyncConnection | None:
        """A quick reader in a read transaction that holds its snapshot already, or None when none is free or
        the database would make it wait (a writer recovering the log, a rollback journal): then the read goes
        to the ordinary readers. Never waits for a lock."""
        conn = await self._borrow_quick(lender, "reader")
        if conn is None:
            self.quick_fallbacks += 1
            return None
        raw = _raw_sqlite(conn)
        try:
            raw.execute("BEGIN")
            raw.execute(_SNAPSHOT).fetchall()
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
            await lender.give_back(conn)
            self.quick_fallbacks += 1
            return None
        self.quick_reads += 1
        return conn

    async def _borrow_quick(self, lender: _Readers, what: str) -> AsyncConnection | None:
        """A free connection of a quick reader's or writer's pool, or None when every one is lent or it cannot be
        opened (the work then goes through the driver's thread). Never waits."""
        if not lender.idle and lender.opened >= lender.size:
            return None
        try:
            conn = await lender.borrow()
        except _DB_FAILURES as err:
            # Warned once until it opens again, not at every read: each fallback is counted in /metrics.
            if what not in self._quick_closed:
                self._quick_closed.add(what)
                log.warning("quick %s unavailable (%s); going through the driver's thread until it opens",
                            what, type(err).__name__)
            return None
        if self._quick_closed and what in self._quick_closed:
            self._quick_closed.discard(what)
            log.warning("quick %s available again", what)
        return conn

    @asynccontextmanager
    async def _quick_read(self, lender: _Readers, conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
        """The rest of a quick read: the caller's statements, then the end of the transaction, all on the loop's
        thread (nothing of this connection runs anywhere else, so a cancelled read leaves nothing running)."""
        raw = _raw_sqlite(conn)
        try:
            try:
                yield conn
            finally:
                with contextlib.suppress(sqlite3.Error):
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                await lender.give_back(conn)
        except _DB_FAILURES as err:
            mapped = self._as_unavailable(err)
            if mapped is err:
                raise
            raise mapped from err

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on success and rolled back on any error (no retry)."""
        conn = await self._borrow(self.writers)
        try:
            async with (conn.begin() if self.is_sqlite else _pg_transaction(conn)):
                yield conn
        except BaseException as err:
            await self._return_writer(conn, err)
            raise
        await self._return_writer(conn, None)

    async def _transact(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` in one write transaction, as `async with transaction()` runs it, without its two context
        managers (a few microseconds of every write)."""
        conn = await self._borrow(self.writers)
        try:
            begun = None if self.is_sqlite else _pg_begin(conn)
            if begun is None:
                async with conn.begin():
                    result = await work(conn)
            else:
                try:
                    result = await work(conn)
                except BaseException:
                    await _pg_end(conn, begun, ok=False)
                    raise
                await _pg_end(conn, begun, ok=True)
        except BaseException as err:
            await self._return_writer(conn, err)
            raise
        await self._return_writer(conn, None)
        return result

    async def _return_writer(self, conn: AsyncConnection, err: BaseException | None) -> None:
        """A write transaction's connection back to its pool: given back after success, let go after `err`."""
        if err is None:
            await self.writers.give_back(conn)
        else:
            await self._let_go(self.writers, conn, err)
        self._wake_quick()

    def _wake_quick(self) -> None:
        if self._drained is not None and self.writers.lent == 0:
            self._drained.set()

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]], *, quick: bool = False) -> T:
        """Run `work` in one write transaction, retrying it on contention with bounded backoff.

        Retries stop at the deadline (the configured timeout); then, or when the database cannot be
        reached, raises Unavailable (503). A unique violation that `work` left unhandled is AlreadyExists.

        `quick=True` says the write is a few statements on a few rows (a journey write). On SQLite it then
        runs on the event loop's thread, on the quick writer's connection, when that is free and the database
        lets it write at once (else as any write, through the driver's thread): each statement then costs no
        trip to another thread and back, four or five per write. The quick writer never checkpoints the log
        on the loop's thread; every CHECKPOINT_EVERY of its commits a worker thread does (PASSIVE).
        """
        if quick and self.quick_writer is not None:
            for _ in range(QUICK_WRITE_TRIES):
                done, result = await self._quick_write(self.quick_writer, work)
                if done:
                    return cast(T, result)
                if self.writers.lent == 0 or not await self._writers_drained():
                    break  # another process holds the lock (or this one's writes never drain): the ordinary way
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        attempt = 0
        while True:
            try:
                return await self._transact(work)
            except sa_exc.IntegrityError as err:
                _raise_already_exists(err)
                raise
            except _DB_FAILURES as err:
                pause = delay * (1 + random.random())
                if is_retryable(err) and attempt < WRITE_RETRIES and time.monotonic() + pause < deadline:
                    attempt += 1
                    self.retries += 1
                    await asyncio.sleep(pause)
                    delay = min(delay * 2, 0.5)
                    continue
                mapped = self._as_unavailable(err)
                if mapped is err:
                    raise
                raise mapped from err

    async def _writers_drained(self) -> bool:
        """Wait until no write of this process runs through the driver's thread (its transaction holds the lock
        the quick writer needs: falling back behind it would keep the lock held by slow writes); False when
        that takes longer than the timeout."""
        if self._drained is None:
            self._drained = asyncio.Event()
        self._drained.clear()
        try:
            await asyncio.wait_for(self._drained.wait(), self.timeout)
        except TimeoutError:
            return False
        return True

    async def quick_write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`write(work, quick=True)`."""
        return await self.write(work, quick=True)

    async def _quick_write(
        self, lender: _Readers, work: Callable[[AsyncConnection], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """(True, the result) of `work` run by the quick writer, or (False, None) when it is lent or the
        database is locked by another connection (nothing was done: the write goes the ordinary way)."""
        conn = await self._borrow_quick(lender, "writer")
        if conn is None:
            return False, None
        raw = _raw_sqlite(conn)
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            await lender.give_back(conn)
            return False, None
        try:
            try:
                result = await work(conn)
                try:
                    raw.execute("COMMIT")
                except sqlite3.Error as err:
                    raise sa_exc.DBAPIError.instance("COMMIT", [], err, sqlite3.Error, hide_parameters=True) from err
            finally:
                with contextlib.suppress(sqlite3.Error):
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                await lender.give_back(conn)
        except sa_exc.IntegrityError as err:
            _raise_already_exists(err)
            raise
        except _DB_FAILURES as err:
            mapped = self._as_unavailable(err)
            if mapped is err:
                raise
            raise mapped from err
        self.quick_writes += 1
        if self.quick_writes % CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.ensure_future(asyncio.to_thread(self._checkpoint_log))
        return True, result

    def _checkpoint_log(self) -> None:
        """Copy the log's committed pages into the database file (PASSIVE: waits for nobody), in a worker thread
        on a connection of its own."""
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(str(sqlite_path(self.url)), timeout=0, isolation_level=None,
                                                     check_same_thread=False)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as err:
            log.warning("log checkpoint failed: %s", err)

    def _as_unavailable(self, err: BaseException) -> BaseException:
        """Unavailable for contention and outages, BadParameter for text the database cannot store; any other
        error (a bug) is returned unchanged."""
        if is_unstorable_text(err):
            return BadParameter("value", "text values may not contain the NUL character (U+0000)")
        if is_retryable(err):
            return Unavailable("the database is busy; retry later", retry_after=RETRY_AFTER_BUSY)
        if isinstance(err, sa_exc.TimeoutError):
            return Unavailable("every database connection is busy; retry later", retry_after=RETRY_AFTER_BUSY)
        if is_unreachable(err) or isinstance(err, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            first_line = next(iter(str(err).splitlines()), "")[:200]
            log.warning("database unavailable: %s: %s", type(err).__name__, first_line)
            return Unavailable("the database is unavailable; retry later", retry_after=RETRY_AFTER_DOWN)
        return err


@asynccontextmanager
async def _pg_transaction(conn: AsyncConnection) -> AsyncIterator[None]:
    """A PostgreSQL write transaction begun and, when nothing reached the server inside one, ended without the
    two trips to SQLAlchemy's greenlet that `conn.begin()` costs (about 25 us of CPU).

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs itself (or a
    FastStatement that is not `last`), so beginning sends nothing. A write of one `last` FastStatement runs
    outside a transaction block and commits by itself: ending it sends nothing either. Once the adapter has
    begun a transaction on the server, commit and rollback go through SQLAlchemy as before.
    """
    begun = _pg_begin(conn)
    if begun is None:
        async with conn.begin():
            yield
        return
    try:
        yield
    except BaseException:
        await _pg_end(conn, begun, ok=False)
        raise
    await _pg_end(conn, begun, ok=True)


def _pg_begin(conn: AsyncConnection) -> tuple[Any, Any] | None:
    """Begin `_pg_transaction`'s transaction: (SQLAlchemy's transaction, the driver adapter), or None when the
    connection must reconnect first (which needs the greenlet: `conn.begin()` then)."""
    sync: Any = conn.sync_connection
    if conn.invalidated or sync is None or sync._dbapi_connection is None:
        return None
    return sync.begin(), sync._dbapi_connection.dbapi_connection


async def _pg_end(conn: AsyncConnection, begun: tuple[Any, Any], *, ok: bool) -> None:
    """End `_pg_transaction`'s transaction: commit (`ok`) or roll back, through SQLAlchemy's greenlet only when
    the adapter began a transaction on the server."""
    transaction, adapter = begun
    if adapter._transaction is None:
        if ok:
            transaction.commit()
        else:
            transaction.rollback()
    elif ok:
        await conn.commit()
    else:
        await conn.rollback()


def _raw_sqlite(conn: AsyncConnection) -> sqlite3.Connection:
    """The sqlite3 connection under a quick reader."""
    driver: Any = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    return driver._conn


def throwaway_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off work (migrations, tools)."""
    ensure_sqlite_directory(url)
    return create_async_engine(async_url(url), poolclass=NullPool, hide_parameters=True)
