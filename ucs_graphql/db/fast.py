"""Hot-path statements: built with SQLAlchemy Core once, compiled once per dialect, run on the driver.

SQLAlchemy's async execution costs a few hundred microseconds per statement in Python (greenlet hops,
execution context, result wrapping). For the statements on the hottest paths (read by id, identify) that
is most of a request. A FastStatement keeps the single portable definition in Core, compiles it for the
connection's dialect on first use (positional SQL plus the parameter order), and runs it on the driver
connection that the AsyncConnection has checked out, so it shares the caller's transaction. Driver errors
are translated and wrapped as SQLAlchemy would, so the storage boundary maps them the same way, and a
broken connection is invalidated rather than returned to the pool.

A FastInsert ships many rows of one table the same way, for bulk writes: PostgreSQL's COPY (binary,
constraints checked as for INSERT) or the driver's executemany of the compiled INSERT on SQLite, with
positional tuples instead of SQLAlchemy's per-row parameter processing. A few rows take the ordinary path.

A FastInserts ships the rows of several tables at once (a batch of new profiles: profiles, extension
records, index entries). On the PostgreSQL dialect that is one statement: per table, an INSERT ... SELECT of
the elements of one JSON array of rows (`jsonb_array_elements`), as data-modifying WITH clauses, so a batch
costs one round trip instead of two per table. The rows travel as one JSON text per table, written by
orjson, because the driver's encoding of arrays, whether an array per column or one of the table's row
type, checks the type of every value in Python and cost two to four times as much server CPU for the same
database work. PostgreSQL, YugabyteDB and CockroachDB have these JSON functions; engines with a dialect of
their own (CockroachDB's) and SQLite insert each table with a FastInsert.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import String, Table, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from ucs_graphql.kit.jsonio import dumps_str


def _row_type(keys: Sequence[str]) -> type:
    """A tuple type with attribute access and `_mapping`, like SQLAlchemy's Row, for these column keys."""
    base = namedtuple("FastRow", list(keys))  # type: ignore[misc]

    class FastRow(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return FastRow


class FastStatement:
    """A Core statement compiled once per dialect and executed directly by the driver."""

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._row: type | None = None

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any], *, last: bool = False) -> list[Any]:
        """Every row, with attribute access by column key (the statement's selected or RETURNING columns)."""
        raw = await self.fetch(conn, params, last=last)
        if self._row is None:
            self._row = _row_type(list(self.stmt.exported_columns.keys()))  # type: ignore[attr-defined]
        make = self._row
        return [make(*r) for r in raw]

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
        got = self._compiled.get(dialect.name)
        if got is None:
            compiled = cast(SQLCompiler, self.stmt.compile(dialect=dialect))
            if compiled.positiontup is None:
                raise TypeError("a fast statement needs a positional paramstyle")
            got = self._compiled[dialect.name] = (str(compiled), tuple(compiled.positiontup))
        return got

    async def fetch(
        self, conn: AsyncConnection, params: Mapping[str, Any], *, last: bool = False
    ) -> Sequence[Sequence[Any]]:
        """Every row, as tuples of driver values.

        `last=True` tells that nothing runs after this statement in the caller's transaction. On PostgreSQL,
        when nothing ran in it before either, the statement is then the whole transaction: it is sent without
        BEGIN and COMMIT (PostgreSQL commits a statement outside a transaction block by itself, all or
        nothing, and delivers its NOTIFYs then), which saves two round trips; the caller's commit has nothing
        left to send.
        """
        sync, pooled, driver = _checked_out(conn)
        dialect = sync.dialect  # the sync connection's attribute (AsyncConnection.dialect is two properties away)
        sql, names = self._sql(dialect)
        args = [params[n] for n in names]
        # Listeners of the engine's cursor events (statement counters, tracers) still see the statement
        # (checked as Connection.execute does: dispatching to no listener still costs a call).
        if sync._has_events or sync.engine._has_events:
            sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)
        try:
            if dialect.name == "postgresql":
                adapted = pooled.dbapi_connection
                if sync.in_transaction() and adapted._transaction is None and not last:
                    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its first statement: do the
                    # same, so a write run here belongs to the caller's transaction.
                    await adapted._start_transaction()
                return cast(Sequence[Sequence[Any]], await driver.fetch(sql, *args))
            # aiosqlite runs each call in its thread: executing and fetching in one call is one hop there.
            return cast(Sequence[Sequence[Any]], await driver.execute_fetchall(sql, args))
        except Exception as err:
            wrapped = _wrap(conn, pooled, sql, args, err)
            if wrapped.connection_invalidated:
                await conn.invalidate()
            raise wrapped from err


class FastInsert:
    """Many rows into one table, inside the caller's transaction, in one statement (or one COPY)."""

    # Below this many rows the ordinary execution is as quick and keeps single writes on one path.
    SMALL = 8

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = tuple(c.name for c in table.columns)
        self._insert = FastStatement(insert(table))

    async def run(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `rows`, tuples of values in the table's column order; failures are SQLAlchemy errors
        (a unique clash an IntegrityError), and on PostgreSQL the transaction needs a rollback after one."""
        if not rows:
            return
        if len(rows) < self.SMALL:
            await conn.execute(insert(self.table), [dict(zip(self.columns, row, strict=True)) for row in rows])
            return
        sql, names = self._insert._sql(conn.dialect)
        if names != self.columns:
            raise TypeError(f"unexpected parameter order for {self.table.name}: {names}")
        sync, pooled, driver = _checked_out(conn)
        if sync._has_events or sync.engine._has_events:
            sync.dispatch.before_cursor_execute(sync, None, sql, rows, None, True)
        try:
            if conn.dialect.name == "postgresql":
                await _begun(pooled)
                await driver.copy_records_to_table(self.table.name, records=rows, columns=self.columns)
            else:
                cursor = await driver.executemany(sql, rows)
                await cursor.close()
        except Exception as err:
            wrapped = _wrap(conn, pooled, sql, list(rows[:1]), err)
            if wrapped.connection_invalidated:
                await conn.invalidate()
            raise wrapped from err


class FastInserts:
    """Rows of several tables inserted together, inside the caller's transaction (one statement on PostgreSQL).

    A unique clash in any table is an IntegrityError and the whole statement is undone; on PostgreSQL the
    transaction then needs a rollback, like after any failed statement.

    `last=True` tells that nothing runs after these inserts in the caller's transaction. On PostgreSQL, when
    nothing ran in it before either, the one statement is then the whole transaction: it runs without BEGIN
    and COMMIT (PostgreSQL commits a statement outside a transaction block by itself, all or nothing), which
    saves two round trips, and the caller's commit has nothing left to send.
    """

    def __init__(self, *tables: Table) -> None:
        self.tables = tables
        self.single = {t.name: FastInsert(t) for t in tables}
        self._sql: dict[tuple[str, ...], str] = {}

    def _statement(self, dialect: Dialect, tables: Sequence[Table]) -> str:
        shape = tuple(t.name for t in tables)
        sql = self._sql.get(shape)
        if sql is None:
            quote = dialect.identifier_preparer.quote
            parts = []
            for n, table in enumerate(tables, start=1):
                # Text goes in as text, so that the INSERT checks its length as for any value (a cast to
                # VARCHAR(n) would cut it); other types are cast from the JSON element's text.
                values = ", ".join(f"r->>{i}" if isinstance(c.type, String) else
                                   f"CAST(r->>{i} AS {c.type.compile(dialect=dialect)})"
                                   for i, c in enumerate(table.columns))
                parts.append(f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in table.columns)}) "
                             f"SELECT {values} FROM jsonb_array_elements(CAST(${n} AS jsonb)) AS r")
            sql = parts[0] if len(parts) == 1 else (
                "WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts)) + " SELECT 1")
            self._sql[shape] = sql
        return sql

    async def run(self, conn: AsyncConnection, rows: Mapping[str, Sequence[tuple[Any, ...]]], *,
                  last: bool = False) -> None:
        """Insert the rows of each table (by table name; tuples in the table's column order, of values
        JSON can carry: text, numbers, None)."""
        if conn.dialect.name != "postgresql":
            for table in self.tables:
                await self.single[table.name].run(conn, rows.get(table.name, ()))
            return
        tables = [t for t in self.tables if rows.get(t.name)]
        if not tables:
            return
        sql = self._statement(conn.dialect, tables)
        args = [dumps_str(rows[table.name]) for table in tables]
        sync, pooled, driver = _checked_out(conn)
        if sync._has_events or sync.engine._has_events:
            sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)
        try:
            if not last:
                await _begun(pooled)
            await driver.execute(sql, *args)
        except Exception as err:
            wrapped = _wrap(conn, pooled, sql, args[:1], err)
            if wrapped.connection_invalidated:
                await conn.invalidate()
            raise wrapped from err


def _checked_out(conn: AsyncConnection) -> tuple[Any, Any, Any]:
    """The sync connection, its pooled DB-API adapter and the driver's own connection."""
    sync: Any = conn.sync_connection
    pooled: Any = sync.connection  # checked out already
    return sync, pooled, pooled.driver_connection


async def _begun(pooled: Any) -> None:
    """Make sure the asyncpg adapter has sent BEGIN: it starts its transaction on the first statement it
    runs itself, and a statement run directly on the driver before that would commit on its own."""
    adapter = pooled.dbapi_connection
    if getattr(adapter, "_transaction", True) is None and not adapter.autocommit:
        await adapter._start_transaction()


def _wrap(conn: AsyncConnection, pooled: Any, sql: str, args: list[Any], err: Exception) -> sa_exc.DBAPIError:
    """The SQLAlchemy DBAPIError that the same failure would have raised through Connection.execute."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    translated: BaseException = err
    handle = getattr(pooled.dbapi_connection, "_handle_exception", None)
    if handle is not None and not isinstance(err, dbapi_error):
        try:
            handle(err)
        except BaseException as mapped:  # the adapter raises its DB-API translation
            translated = mapped
    invalidated = isinstance(translated, dbapi_error) and conn.dialect.is_disconnect(translated, None, None)
    if isinstance(err, (OSError, ConnectionError)):
        invalidated = True
    return cast(sa_exc.DBAPIError, sa_exc.DBAPIError.instance(
        sql, args, translated, dbapi_error, hide_parameters=True, connection_invalidated=invalidated))


class FastShapes:
    """FastStatements made on first use for each shape of a statement (e.g. the columns an UPDATE sets)."""

    def __init__(self, build: Callable[[Any], ClauseElement]) -> None:
        self.build = build
        self._made: dict[Hashable, FastStatement] = {}

    def __getitem__(self, shape: Hashable) -> FastStatement:
        got = self._made.get(shape)
        if got is None:
            got = self._made[shape] = FastStatement(self.build(shape))
        return got
