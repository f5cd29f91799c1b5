"""SQL for profile rows (Core). `data` maps attribute names to value lists, as stored (sealed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import chunks
from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.db.fast import FastInsert, FastStatement
from ucs_graphql.db.tables.profiles import profile
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import AlreadyExists
from ucs_graphql.kit.timefmt import now_utc, to_millis

Data = dict[str, list[Any]]
PAGE = 2000


_INSERT = FastInsert(profile)


def profile_rows(tenant: int, rows: Sequence[tuple[str, Data]]) -> list[tuple[Any, ...]]:
    """Rows of new profiles in the table's column order: tenant_id, customer_id, created_ms, data."""
    dumps = jsonio.dumps_str
    return dumped_profile_rows(tenant, [(cid, dumps(data)) for cid, data in rows])


def dumped_profile_rows(tenant: int, rows: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """profile_rows of (customer id, data already in its stored JSON text)."""
    now = to_millis(now_utc())
    return [(tenant, cid, now, text) for cid, text in rows]


async def insert_profiles(conn: AsyncConnection, tenant: int, rows: Sequence[tuple[str, Data]]) -> None:
    """Insert new profiles (one statement); an existing id is AlreadyExists naming it when there is one."""
    try:
        await _INSERT.run(conn, profile_rows(tenant, rows))
    except sa_exc.IntegrityError as err:
        if as_unique_violation(err) is None:
            raise
        named = f" '{rows[0][0]}'" if len(rows) == 1 else ""
        raise AlreadyExists(f"customer{named} already exists") from err


async def replace_data(conn: AsyncConnection, tenant: int, customer_id: str, data: Data) -> bool:
    """Replace a profile's attributes; False when the customer does not exist."""
    res = await conn.execute(update(profile).where(profile.c.tenant_id == tenant, profile.c.customer_id == customer_id)
                             .values(data=jsonio.dumps_str(data)))
    return bool(res.rowcount)


async def lock(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> dict[str, Data]:
    """Stored data of these customers, locking their rows for the rest of the write transaction."""
    out: dict[str, Data] = {}
    for part in chunks(sorted(set(customer_ids))):
        stmt = (select(profile.c.customer_id, profile.c.data)
                .where(profile.c.tenant_id == tenant, profile.c.customer_id.in_(part))
                .order_by(profile.c.customer_id).with_for_update())
        out.update((cid, jsonio.loads(data)) for cid, data in await conn.execute(stmt))
    return out


# The by-id read is the hottest statement: built once, run on the driver (ucs_graphql.db.fast).
_LOAD_ONE = FastStatement(select(profile.c.customer_id, profile.c.data).where(
    profile.c.tenant_id == bindparam("tenant"), profile.c.customer_id == bindparam("cid")))
_LOAD_MANY = select(profile.c.customer_id, profile.c.data).where(
    profile.c.tenant_id == bindparam("tenant"), profile.c.customer_id.in_(bindparam("cids", expanding=True)))


async def load(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> dict[str, Data]:
    """Stored data of these customers (absent ones are missing from the result); one statement for up to
    IN_CHUNK customers."""
    if not customer_ids:
        return {}
    rows: Iterable[Sequence[Any]]
    if len(customer_ids) == 1:
        rows = await _LOAD_ONE.fetch(conn, {"tenant": tenant, "cid": customer_ids[0]})
        return {cid: jsonio.loads(data) for cid, data in rows}
    out: dict[str, Data] = {}
    for part in chunks(customer_ids):
        rows = await conn.execute(_LOAD_MANY, {"tenant": tenant, "cids": part})
        out.update((cid, jsonio.loads(data)) for cid, data in rows)
    return out


async def existing(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> set[str]:
    """Which of these customers exist."""
    out: set[str] = set()
    for part in chunks(customer_ids):
        stmt = select(profile.c.customer_id).where(profile.c.tenant_id == tenant, profile.c.customer_id.in_(part))
        out.update((await conn.scalars(stmt)).all())
    return out


async def delete_profiles(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> int:
    """Delete profile rows; returns how many existed."""
    deleted = 0
    for part in chunks(customer_ids):
        res = await conn.execute(delete(profile).where(profile.c.tenant_id == tenant, profile.c.customer_id.in_(part)))
        deleted += int(res.rowcount or 0)
    return deleted


async def pages(conn: AsyncConnection, tenant: int) -> AsyncIterator[dict[str, Data]]:
    """Every profile of a tenant, page by page in customer id order (keyset pagination)."""
    last = ""
    while True:
        rows = (await conn.execute(
            select(profile.c.customer_id, profile.c.data)
            .where(profile.c.tenant_id == tenant, profile.c.customer_id > last)
            .order_by(profile.c.customer_id).limit(PAGE))).all()
        if not rows:
            return
        yield {cid: jsonio.loads(data) for cid, data in rows}
        last = rows[-1][0]


async def count(conn: AsyncConnection, tenant: int) -> int:
    """How many profiles a tenant has."""
    return int(await conn.scalar(select(func.count()).select_from(profile).where(profile.c.tenant_id == tenant)) or 0)
