"""SQL for the identification index (ident_entry): lookups and per-customer maintenance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, or_, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import chunks
from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.db.fast import FastInsert, FastStatement
from ucs_graphql.db.tables.profiles import ident_entry
from ucs_graphql.kit.errors import AlreadyExists
from ucs_graphql.metadata.model import IdentificationKey

BATCH = 5000
LOOKUP_CHUNK = 1000
_INSERT = FastInsert(ident_entry)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The identify hot path: one value under one key, built once and run on the driver (ucs_graphql.db.fast).
_LOOKUP_ONE = FastStatement(select(ident_entry.c.customer_id).where(
    ident_entry.c.tenant_id == bindparam("tenant"), ident_entry.c.key == bindparam("key"),
    ident_entry.c.value == bindparam("value")))


async def lookup(conn: AsyncConnection, tenant: int, key: str, values: Sequence[str]) -> list[str]:
    """Customers whose entries under `key` equal one of `values`, sorted (one statement on the primary key)."""
    # No DISTINCT/ORDER BY in SQL: they tempt planners without statistics onto the customer index.
    if len(values) == 1:
        rows = await _LOOKUP_ONE.fetch(conn, {"tenant": tenant, "key": key, "value": values[0]})
        return sorted({r[0] for r in rows})
    found: set[str] = set()
    for part in chunks(sorted(set(values))):
        stmt = select(ident_entry.c.customer_id).where(ident_entry.c.tenant_id == tenant, ident_entry.c.key == key,
                                                       ident_entry.c.value.in_(part))
        found.update((await conn.scalars(stmt)).all())
    return sorted(found)


async def refresh_statistics(conn: AsyncConnection) -> None:
    """Have the database take the entries' statistics again (PostgreSQL's ANALYZE; nothing elsewhere: SQLite
    plans its lookups on the primary key without statistics). Until its autovacuum analyzes a table that grew
    from empty, PostgreSQL estimates it holds almost nothing and plans `lookup_values` as a scan of every entry
    under the key, each value checked as a filter instead of looked up in the index: a bulk import with an
    id-key then slows with every batch it stores."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"ANALYZE {ident_entry.name}"))


async def lookup_values(
    conn: AsyncConnection, tenant: int, key: str, values: Sequence[str]
) -> dict[str, list[str]]:
    """Customers under `key` for each of many values (value -> customer ids), in chunks of one statement."""
    out: dict[str, list[str]] = {}
    wanted = sorted(set(values))
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        stmt = (select(ident_entry.c.value, ident_entry.c.customer_id)
                .where(ident_entry.c.tenant_id == tenant, ident_entry.c.key == key,
                       ident_entry.c.value.in_(wanted[i:i + LOOKUP_CHUNK]))
                .order_by(ident_entry.c.value, ident_entry.c.customer_id))
        for value, cid in await conn.execute(stmt):
            out.setdefault(value, []).append(cid)
    return out


async def lookup_prefix(conn: AsyncConnection, tenant: int, key: str, prefixes: Sequence[str]) -> list[str]:
    """Customers whose entries under `key` start with one of `prefixes` (a partially covered key)."""
    conds = [ident_entry.c.value.like(_escape_like(p) + "%", escape="\\") for p in prefixes]
    stmt = select(ident_entry.c.customer_id).where(ident_entry.c.tenant_id == tenant, ident_entry.c.key == key,
                                                   or_(*conds))
    return sorted(set((await conn.scalars(stmt)).all()))


def conflict(err: sa_exc.IntegrityError, key: IdentificationKey) -> AlreadyExists:
    """The 409 for a second customer with the values of a unique key (re-raises other integrity errors)."""
    if as_unique_violation(err) is None:
        raise err
    return AlreadyExists(
        f"identification key '{key.name}' is unique and another customer already has these values of "
        f"{', '.join(key.attributes)}")


def entry_rows(tenant: int, key: IdentificationKey, pairs: Iterable[tuple[str, str]]) -> list[tuple[str | int, ...]]:
    """Rows of (value, customer) entries of one key in the table's column order: tenant_id, key, value, slot,
    customer_id (the slot is empty under a unique key, so a second customer with the values clashes)."""
    name = key.key
    if key.unique:
        return [(tenant, name, value, "", cid) for value, cid in pairs]
    return [(tenant, name, value, cid, cid) for value, cid in pairs]


async def insert_entries(
    conn: AsyncConnection, tenant: int, key: IdentificationKey, pairs: Iterable[tuple[str, str]]
) -> None:
    """Insert (value, customer) entries of one key, in batches; a unique clash is a 409 naming the key."""
    rows = entry_rows(tenant, key, pairs)
    try:
        for i in range(0, len(rows), BATCH):
            await _INSERT.run(conn, rows[i:i + BATCH])
    except sa_exc.IntegrityError as err:
        raise conflict(err, key) from err


async def delete_customer_entries(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], keys: Sequence[str] | None = None
) -> None:
    """Delete the entries of some customers (under some keys, or all)."""
    for part in chunks(customer_ids):
        stmt = delete(ident_entry).where(ident_entry.c.tenant_id == tenant, ident_entry.c.customer_id.in_(part))
        if keys is not None:
            stmt = stmt.where(ident_entry.c.key.in_(list(keys)))
        await conn.execute(stmt)


async def drop_key(conn: AsyncConnection, tenant: int, key: str) -> None:
    """Delete every entry of a key."""
    await conn.execute(delete(ident_entry).where(ident_entry.c.tenant_id == tenant, ident_entry.c.key == key))
