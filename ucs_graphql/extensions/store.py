"""SQL for extension records (shared by the four levels), with uniqueness enforced by the database.

A caller validates records against their schema first (ucs_graphql.metadata.records) and runs these
functions inside its write transaction. A unique clash surfaces as db.errors.UniqueViolation-able
IntegrityError; `write_guarded` turns it into AlreadyExists naming the extension.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import IN_CHUNK, chunks
from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.db.fast import FastInsert
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import AlreadyExists, BadParameter, OverLimit
from ucs_graphql.metadata.model import ExtensionSchema

Record = dict[str, Any]


def _value_key(values: Sequence[Any]) -> str:
    return hashlib.sha256(jsonio.dumps(list(values))).hexdigest()


def unique_keys(schema: ExtensionSchema, record: Record) -> list[tuple[int, str]]:
    """The (group, value-key) rows a record occupies; a group with an absent value occupies none.

    A single-valued extension's record occupies none: it is always record 1, so extension_record's primary
    key keeps one per owner (two writers adding the first record at once clash there). Databases written
    before kept a (0, '') row for it, which goes with the record as any unique row does.
    """
    if not schema.multi:
        return []
    out = []
    for i, group in enumerate(schema.unique, start=1):
        values = []
        for name in group:
            attr = schema.attribute(name)
            values.append(record.get(attr.name) if attr else None)
        if all(v is not None for v in values):
            out.append((i, _value_key(values)))
    return out


def _where(tenant: int, level: str, owner: str, ext: str | None = None) -> Any:
    conds = [extension_record.c.tenant_id == tenant, extension_record.c.level == level,
             extension_record.c.owner == owner]
    if ext is not None:
        conds.append(extension_record.c.ext == ext)
    return and_(*conds)


def _uwhere(tenant: int, level: str, owner: str, ext: str | None = None) -> Any:
    conds = [extension_unique.c.tenant_id == tenant, extension_unique.c.level == level,
             extension_unique.c.owner == owner]
    if ext is not None:
        conds.append(extension_unique.c.ext == ext)
    return and_(*conds)


def _row_values(
    tenant: int, level: str, owner: str, schema: ExtensionSchema, records: Sequence[Record], start: int,
    rows: list[dict[str, Any]], urows: list[dict[str, Any]],
) -> None:
    """Append the extension_record and extension_unique rows of an owner's records numbered from `start`."""
    for i, rec in enumerate(records, start=start):
        rows.append({"tenant_id": tenant, "level": level, "owner": owner, "ext": schema.key, "rec_no": i,
                     "data": jsonio.dumps_str(rec)})
        for grp, value in unique_keys(schema, rec):
            urows.append({"tenant_id": tenant, "level": level, "owner": owner, "ext": schema.key, "grp": grp,
                          "value": value, "rec_no": i})


async def _execute_rows(conn: AsyncConnection, rows: list[dict[str, Any]], urows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(extension_record), rows)
    if urows:
        await conn.execute(insert(extension_unique), urows)


async def _insert_rows(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, records: Sequence[Record]
) -> None:
    if not records:
        return
    start = 0  # a single-valued extension's record is record 1 (see unique_keys)
    if schema.multi:
        start = int(await conn.scalar(select(func.coalesce(func.max(extension_record.c.rec_no), 0))
                                      .where(_where(tenant, level, owner, schema.key))) or 0)
    rows: list[dict[str, Any]] = []
    urows: list[dict[str, Any]] = []
    _row_values(tenant, level, owner, schema, records, start + 1, rows, urows)
    await _execute_rows(conn, rows, urows)


_INSERT_RECORDS = FastInsert(extension_record)
_INSERT_UNIQUES = FastInsert(extension_unique)


def new_owner_rows(
    tenant: int, level: str, schema: ExtensionSchema, owners: Sequence[tuple[str, Sequence[Record]]],
    rows: list[tuple[Any, ...]], urows: list[tuple[Any, ...]],
) -> None:
    """Append the extension_record and extension_unique rows of owners that have no record of this extension
    yet, in the tables' column order: (tenant_id, level, owner, ext, rec_no, data) and
    (tenant_id, level, owner, ext, grp, value, rec_no)."""
    ext, dumps = schema.key, jsonio.dumps_str
    for owner, records in owners:
        for rec_no, rec in enumerate(records, start=1):
            rows.append((tenant, level, owner, ext, rec_no, dumps(rec)))
            urows += [(tenant, level, owner, ext, grp, value, rec_no) for grp, value in unique_keys(schema, rec)]


async def insert_new_owners(
    conn: AsyncConnection, tenant: int, level: str, schema: ExtensionSchema,
    owners: Sequence[tuple[str, Sequence[Record]]],
) -> None:
    """Insert the records of one extension for owners that have none yet (being created): two statements."""
    rows: list[tuple[Any, ...]] = []
    urows: list[tuple[Any, ...]] = []
    new_owner_rows(tenant, level, schema, owners, rows, urows)
    await _INSERT_RECORDS.run(conn, rows)
    await _INSERT_UNIQUES.run(conn, urows)


async def _delete_recs(conn: AsyncConnection, tenant: int, level: str, owner: str, ext: str,
                       rec_nos: Iterable[int]) -> None:
    nos = list(rec_nos)
    if not nos:
        return
    for part in chunks(nos):
        await conn.execute(delete(extension_unique).where(_uwhere(tenant, level, owner, ext),
                                                          extension_unique.c.rec_no.in_(part)))
        await conn.execute(delete(extension_record).where(_where(tenant, level, owner, ext),
                                                          extension_record.c.rec_no.in_(part)))


async def replace(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, records: Sequence[Record]
) -> None:
    """Replace all of an owner's records of one extension with `records` (validated)."""
    if not schema.multi and len(records) > 1:
        raise BadParameter(schema.name, "a single-valued extension takes one record")
    await conn.execute(delete(extension_unique).where(_uwhere(tenant, level, owner, schema.key)))
    await conn.execute(delete(extension_record).where(_where(tenant, level, owner, schema.key)))
    await _insert_rows(conn, tenant, level, owner, schema, records)


async def insert_records(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, records: Sequence[Record]
) -> None:
    """Insert records: single-valued replaces; multi-valued adds, replacing a record with the same unique values."""
    if not schema.multi:
        await replace(conn, tenant, level, owner, schema, records[-1:])
        return
    for rec in records:
        keys = unique_keys(schema, rec)
        if keys:
            clash = await conn.execute(select(extension_unique.c.rec_no).where(
                _uwhere(tenant, level, owner, schema.key),
                or_(*(and_(extension_unique.c.grp == g, extension_unique.c.value == v) for g, v in keys))))
            await _delete_recs(conn, tenant, level, owner, schema.key, {r for (r,) in clash})
        await _insert_rows(conn, tenant, level, owner, schema, [rec])


async def _find_by_unique(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, selector: Record
) -> tuple[int, Record] | None:
    """The record selected by the unique attributes present in `selector` (400 when none is given)."""
    if not schema.multi:
        row = (await conn.execute(select(extension_record.c.rec_no, extension_record.c.data)
                                  .where(_where(tenant, level, owner, schema.key)))).first()
        return (row[0], jsonio.loads(row[1])) if row else None
    for i, group in enumerate(schema.unique, start=1):
        names = [a.name for n in group if (a := schema.attribute(n))]
        if all(selector.get(n) is not None for n in names):
            value = _value_key([selector[n] for n in names])
            row = (await conn.execute(
                select(extension_record.c.rec_no, extension_record.c.data).join(
                    extension_unique,
                    and_(extension_unique.c.tenant_id == extension_record.c.tenant_id,
                         extension_unique.c.level == extension_record.c.level,
                         extension_unique.c.owner == extension_record.c.owner,
                         extension_unique.c.ext == extension_record.c.ext,
                         extension_unique.c.rec_no == extension_record.c.rec_no))
                .where(_uwhere(tenant, level, owner, schema.key), extension_unique.c.grp == i,
                       extension_unique.c.value == value))).first()
            return (row[0], jsonio.loads(row[1])) if row else None
    wanted = ", ".join("+".join(g) for g in schema.unique) or "(the schema has no unique attributes)"
    raise BadParameter(schema.name, f"the body must give the unique attributes of '{schema.name}': {wanted}")


async def update_by_unique(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, record: Record
) -> bool:
    """Update the record the unique attributes select with the other given attributes; False when none matches.

    Unique attributes are never changed.
    """
    found = await _find_by_unique(conn, tenant, level, owner, schema, record)
    if found is None:
        return False
    rec_no, current = found
    locked = set(schema.unique_attributes)
    merged = {**current, **{k: v for k, v in record.items() if k not in locked}}
    await conn.execute(update(extension_record).where(_where(tenant, level, owner, schema.key),
                                                      extension_record.c.rec_no == rec_no)
                       .values(data=jsonio.dumps_str(merged)))
    return True


async def delete_by_unique(
    conn: AsyncConnection, tenant: int, level: str, owner: str, schema: ExtensionSchema, selector: Record
) -> bool:
    """Delete the record the unique attributes select; False when none matches."""
    found = await _find_by_unique(conn, tenant, level, owner, schema, selector)
    if found is None:
        return False
    await _delete_recs(conn, tenant, level, owner, schema.key, [found[0]])
    return True


async def load(
    conn: AsyncConnection, tenant: int, level: str, owners: Sequence[str], exts: Sequence[str] | None = None
) -> dict[str, dict[str, list[Record]]]:
    """Records of many owners in one statement per IN_CHUNK owners: owner → extension (lower-case name) →
    records in order. More than IN_CHUNK extension names are refused."""
    out: dict[str, dict[str, list[Record]]] = {o: {} for o in owners}
    if not owners or (exts is not None and not exts):
        return out
    names = sorted({e.lower() for e in exts}) if exts is not None else None
    if names is not None and len(names) > IN_CHUNK:
        raise OverLimit(f"{len(names)} extension names were asked for; at most {IN_CHUNK} are allowed")
    for part in chunks(owners):
        stmt = select(extension_record.c.owner, extension_record.c.ext, extension_record.c.data).where(
            extension_record.c.tenant_id == tenant, extension_record.c.level == level,
            extension_record.c.owner.in_(part))
        if names is not None:
            stmt = stmt.where(extension_record.c.ext.in_(names))
        stmt = stmt.order_by(extension_record.c.owner, extension_record.c.ext, extension_record.c.rec_no)
        for owner, ext, data in await conn.execute(stmt):
            out[owner].setdefault(ext, []).append(jsonio.loads(data))
    return out


async def delete_owners(conn: AsyncConnection, tenant: int, level: str, owners: Sequence[str]) -> None:
    """Delete every record of these owners (the owner itself is being deleted)."""
    if not owners:
        return
    for part in chunks(owners):
        await conn.execute(delete(extension_unique).where(
            extension_unique.c.tenant_id == tenant, extension_unique.c.level == level,
            extension_unique.c.owner.in_(part)))
        await conn.execute(delete(extension_record).where(
            extension_record.c.tenant_id == tenant, extension_record.c.level == level,
            extension_record.c.owner.in_(part)))


async def drop_extension(conn: AsyncConnection, tenant: int, level: str, name: str) -> None:
    """Delete every record of an extension whose schema is being deleted."""
    ext = name.lower()
    await conn.execute(delete(extension_unique).where(
        extension_unique.c.tenant_id == tenant, extension_unique.c.level == level, extension_unique.c.ext == ext))
    await conn.execute(delete(extension_record).where(
        extension_record.c.tenant_id == tenant, extension_record.c.level == level, extension_record.c.ext == ext))


def as_already_exists(err: sa_exc.IntegrityError, schema: ExtensionSchema) -> AlreadyExists | None:
    """The AlreadyExists for a unique clash on extension records (None for other integrity errors)."""
    violation = as_unique_violation(err)
    if violation is None:
        return None
    return AlreadyExists(f"another record of extension '{schema.name}' has the same unique attributes")


def render(schema: ExtensionSchema, records: list[Record]) -> Any:
    """The wire form: an object for a single-valued extension (or None), an array for a multi-valued one."""
    if schema.multi:
        return records
    return records[0] if records else None
