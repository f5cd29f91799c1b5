"""INSERT … ON CONFLICT for both engines (SQLite and PostgreSQL share the syntax)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT construct (it has on_conflict_do_update / do_nothing)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def upsert(
    conn: AsyncConnection, table: Table, values: dict[str, Any], keys: Sequence[str], update: Sequence[str]
) -> None:
    """Insert a row, or update `update` columns of the row with the same `keys`."""
    stmt = insert_for(conn, table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    await conn.execute(stmt)
