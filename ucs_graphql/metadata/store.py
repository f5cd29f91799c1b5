"""SQL for schema metadata (Core): load a tenant's schemas, insert and delete documents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Text, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.tables.metadata_schemas import extension_schema, identification_key, profile_attribute
from ucs_graphql.db.tables.server import server_state
from ucs_graphql.db.upsert import insert_for
from ucs_graphql.kit import jsonio


async def load_documents(conn: AsyncConnection, tenant: int) -> dict[str, list[Any]]:
    """Every stored schema document of a tenant, in creation order."""
    attrs = await conn.execute(
        select(profile_attribute.c.doc).where(profile_attribute.c.tenant_id == tenant)
        .order_by(profile_attribute.c.seq)
    )
    exts = await conn.execute(
        select(extension_schema.c.level, extension_schema.c.doc)
        .where(extension_schema.c.tenant_id == tenant).order_by(extension_schema.c.seq)
    )
    keys = await conn.execute(
        select(identification_key.c.seq, identification_key.c.doc)
        .where(identification_key.c.tenant_id == tenant).order_by(identification_key.c.seq)
    )
    return {
        "profile_attributes": [jsonio.loads(d) for (d,) in attrs],
        "extensions": [(lvl, jsonio.loads(d)) for lvl, d in exts],
        "keys": [(seq, jsonio.loads(d)) for seq, d in keys],
    }


async def _next_seq(conn: AsyncConnection, table: Any, tenant: int) -> int:
    got = await conn.scalar(select(func.coalesce(func.max(table.c.seq), 0)).where(table.c.tenant_id == tenant))
    return int(got or 0) + 1


async def insert_profile_attribute(conn: AsyncConnection, tenant: int, name: str, doc: dict[str, Any]) -> None:
    """Store one profile attribute schema (unique per tenant, case-insensitively)."""
    seq = await _next_seq(conn, profile_attribute, tenant)
    await conn.execute(insert(profile_attribute).values(
        tenant_id=tenant, name_lc=name.lower(), seq=seq, doc=jsonio.dumps_str(doc)))


async def insert_extension_schema(
    conn: AsyncConnection, tenant: int, level: str, name: str, doc: dict[str, Any]
) -> None:
    """Store one extension schema (unique per tenant and level, case-insensitively)."""
    seq = await _next_seq(conn, extension_schema, tenant)
    await conn.execute(insert(extension_schema).values(
        tenant_id=tenant, level=level, name_lc=name.lower(), seq=seq, doc=jsonio.dumps_str(doc)))


async def delete_extension_schema(conn: AsyncConnection, tenant: int, level: str, name: str) -> bool:
    """Delete one extension schema; False when there was none."""
    res = await conn.execute(delete(extension_schema).where(
        extension_schema.c.tenant_id == tenant, extension_schema.c.level == level,
        extension_schema.c.name_lc == name.lower()))
    return bool(res.rowcount)


async def insert_identification_key(conn: AsyncConnection, tenant: int, name: str, doc: dict[str, Any]) -> int:
    """Store one identification key and return its creation sequence number."""
    seq = await _next_seq(conn, identification_key, tenant)
    await conn.execute(insert(identification_key).values(
        tenant_id=tenant, name_lc=name.lower(), seq=seq, doc=jsonio.dumps_str(doc)))
    return seq


async def delete_identification_key(conn: AsyncConnection, tenant: int, name: str) -> bool:
    """Delete one identification key; False when there was none."""
    res = await conn.execute(delete(identification_key).where(
        identification_key.c.tenant_id == tenant, identification_key.c.name_lc == name.lower()))
    return bool(res.rowcount)


async def read_state(conn: AsyncConnection) -> dict[str, str]:
    """Every server_state row as a dict."""
    rows = await conn.execute(select(server_state.c.name, server_state.c.value))
    return {name: value for name, value in rows}


async def bump(conn: AsyncConnection, name: str) -> int:
    """Increment a generation counter in server_state and return its new value.

    One upsert: concurrent transactions never lose an increment, and on PostgreSQL the row lock it takes
    serialises the writers that bump the same counter until they commit.
    """
    stmt = insert_for(conn, server_state).values(name=name, value="1")
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"value": cast(cast(server_state.c.value, BigInteger) + 1, Text)},
    ).returning(server_state.c.value)
    return int((await conn.execute(stmt)).scalar_one())

