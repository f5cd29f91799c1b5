"""SQL of the interactions context: interaction rows and their content parts."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import chunks, padded
from ucs_graphql.db.fast import FastShapes
from ucs_graphql.db.tables import journeys
from ucs_graphql.db.tables.interactions import interaction as ixn
from ucs_graphql.db.tables.interactions import interaction_content as content
from ucs_graphql.interactions.model import (
    BINARY_CONTENT,
    PARTS,
    PLAIN_TEXT,
    STRUCTURED_TEXT,
    Content,
    NewInteraction,
)
from ucs_graphql.kit import jsonio


class Interaction(NamedTuple):
    """A stored interaction without its content: which parts exist, not their bytes. A named tuple: made from
    one tuple of its values (no `__init__` call), its fields read in C."""

    interaction_id: str
    customer_id: str
    service_id: int | None
    entity_type: int
    doc: dict[str, Any]
    parts: frozenset[str]  # the content parts it has: plain_text, structured_text, binary_content
    start_ms: int  # the start date in milliseconds: the order of lists


_COLUMNS = (ixn.c.interaction_id, ixn.c.customer_id, ixn.c.service_id, ixn.c.entity_type, ixn.c.start_ms,
            ixn.c.doc, ixn.c.has_text, ixn.c.has_structured_text, ixn.c.has_binary_content)


COLUMNS = tuple(c.name for c in _COLUMNS)


def newest_first(rows: list[Interaction]) -> list[Interaction]:
    """Interactions in the order of a customer's list: newest start first, then id descending."""
    return _newest_first(rows)


def of_values(interaction_id: str, customer_id: str, service_id: int | None, entity_type: int, start_ms: int,
              doc: str, has_text: Any, has_structured_text: Any, has_binary_content: Any) -> Interaction:
    """An Interaction of the values of COLUMNS (the flags as booleans, or the integers 0 and 1)."""
    return _new(Interaction, (interaction_id, customer_id, service_id, entity_type, jsonio.loads(doc),
                              _PARTS_OF[has_text, has_structured_text, has_binary_content], start_ms))


_new = tuple.__new__


def _row(row: Any) -> Interaction:
    return of_values(row.interaction_id, row.customer_id, row.service_id, row.entity_type, row.start_ms, row.doc,
                     row.has_text, row.has_structured_text, row.has_binary_content)


_PARTS_OF = {flags: frozenset(p for p, has in zip(PARTS, flags, strict=True) if has)
             for flags in itertools.product((False, True), repeat=len(PARTS))}
"""The content parts an interaction has, by whether it has each of PARTS (one frozenset made once each); the
integers 0 and 1 find the same sets (False == 0 and True == 1 hash alike)."""


async def insert_interaction(conn: AsyncConnection, tenant: int, interaction_id: str, new: NewInteraction) -> None:
    """Insert an interaction and its content parts (an existing id raises IntegrityError)."""
    parts = {c.part for c in new.contents}
    await conn.execute(ixn.insert().values(
        tenant_id=tenant, interaction_id=interaction_id, customer_id=new.customer_id, service_id=new.service_id,
        entity_type=new.entity_type, start_ms=new.start_ms, doc=jsonio.dumps_str(new.doc),
        has_text=PLAIN_TEXT in parts, has_structured_text=STRUCTURED_TEXT in parts,
        has_binary_content=BINARY_CONTENT in parts,
    ))
    if new.contents:
        await conn.execute(content.insert(), [
            {"tenant_id": tenant, "interaction_id": interaction_id, "part": c.part, "mime": c.mime,
             "size": len(c.data), "data": c.data}
            for c in new.contents
        ])


async def get_interaction(conn: AsyncConnection, tenant: int, interaction_id: str) -> Interaction | None:
    """One interaction by id, without content."""
    row = (await conn.execute(
        select(*_COLUMNS).where(ixn.c.tenant_id == tenant, ixn.c.interaction_id == interaction_id)
    )).first()
    return None if row is None else _row(row)


async def interactions_by_ids(conn: AsyncConnection, tenant: int, interaction_ids: Sequence[str]
                              ) -> dict[str, Interaction]:
    """Interactions by id, without content (absent ids are left out); one statement per 1,000 ids."""
    out: dict[str, Interaction] = {}
    for ids in chunks(sorted(set(interaction_ids))):
        rows = await conn.execute(select(*_COLUMNS).where(ixn.c.tenant_id == tenant, ixn.c.interaction_id.in_(ids)))
        out.update((r.interaction_id, _row(r)) for r in rows)
    return out


def _page(stmt: Any, limit: int | None, offset: int) -> Any:
    stmt = stmt.order_by(ixn.c.start_ms, ixn.c.interaction_id)
    if offset:
        stmt = stmt.offset(offset)
    return stmt if limit is None else stmt.limit(limit)


async def customer_interactions(
    conn: AsyncConnection, tenant: int, customer_id: str, limit: int | None = None, offset: int = 0
) -> list[Interaction]:
    """A customer's interactions, oldest first."""
    stmt = select(*_COLUMNS).where(ixn.c.tenant_id == tenant, ixn.c.customer_id == customer_id)
    return [_row(r) for r in await conn.execute(_page(stmt, limit, offset))]


async def interaction_ids_of_service(conn: AsyncConnection, tenant: int, service_id: int) -> list[str]:
    """Interaction ids that appear in the start and end events of a service, of its states and of its tasks
    (one statement)."""
    parts = [
        select(t.c.started, t.c.completed).where(t.c.tenant_id == tenant, t.c.service_id == service_id)
        for t in (journeys.service, journeys.state, journeys.task)
    ]
    ids: set[str] = set()
    for row in await conn.execute(union_all(*parts)):
        for doc in row:
            if doc:
                value = jsonio.loads(doc).get("interaction_id")
                if value:
                    ids.add(str(value))
    return sorted(ids)


async def service_interactions(
    conn: AsyncConnection, tenant: int, service_id: int, limit: int | None = None, offset: int = 0
) -> list[Interaction]:
    """A service's interactions (by `service_id` or named by its events), oldest first."""
    linked = await interaction_ids_of_service(conn, tenant, service_id)
    match = ixn.c.service_id == service_id
    if linked:
        match = or_(match, ixn.c.interaction_id.in_(linked))
    stmt = select(*_COLUMNS).where(ixn.c.tenant_id == tenant, match)
    return [_row(r) for r in await conn.execute(_page(stmt, limit, offset))]


async def get_contents(
    conn: AsyncConnection, tenant: int, part: str, interaction_ids: Sequence[str]
) -> dict[str, Content]:
    """One content part of each of these interactions, by interaction id (absent ones are left out)."""
    out: dict[str, Content] = {}
    for ids in chunks(sorted(set(interaction_ids))):
        rows = await conn.execute(
            select(content.c.interaction_id, content.c.mime, content.c.data).where(
                content.c.tenant_id == tenant, content.c.part == part, content.c.interaction_id.in_(ids)))
        out.update((r.interaction_id, Content(part, r.mime, bytes(r.data))) for r in rows)
    return out


_ORDER = attrgetter("start_ms", "interaction_id")


def _newest_first(rows: list[Interaction]) -> list[Interaction]:
    return sorted(rows, key=_ORDER, reverse=True)


def _build_of_customers(shape: tuple[int, bool]) -> Any:
    return page_of_customers(*shape)


def page_of_customers(customers: int, after: bool, limit: str = "limit") -> Any:
    """The SELECT of up to :`limit` interactions of each of `customers` customers (`id_<n>`, padded), newest first
    after (:after_start, :after_id) when `after`; its columns are COLUMNS, in any order."""
    conds = [ixn.c.tenant_id == bindparam("tenant"),
             ixn.c.customer_id.in_([bindparam(f"id_{i}") for i in range(customers)])]
    if after:
        start: Any = bindparam("after_start")
        iid: Any = bindparam("after_id")
        conds.append(or_(ixn.c.start_ms < start, and_(ixn.c.start_ms == start, ixn.c.interaction_id < iid)))
    rank = func.row_number().over(partition_by=ixn.c.customer_id,
                                  order_by=(ixn.c.start_ms.desc(), ixn.c.interaction_id.desc())).label("rank")
    ranked = select(*_COLUMNS, rank).where(*conds).subquery()
    return select(*(ranked.c[c.name] for c in _COLUMNS)).where(ranked.c.rank <= bindparam(limit))


# A page of many customers' interactions (GraphQL's loader) runs on the driver: one statement per shape
# (whether a cursor is given, and the number of customers padded to a power of two).
_OF_CUSTOMERS = FastShapes(_build_of_customers)


async def interactions_of_customers(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], limit: int, after: tuple[int, str] | None
) -> dict[str, list[Interaction]]:
    """customer id → up to `limit` of its interactions, newest first (start, then id, descending), after the
    interaction whose (start, id) is `after`; one statement per 1,000 customers."""
    if not customer_ids or limit <= 0:
        return {}
    out: dict[str, list[Interaction]] = {}
    values = {"tenant": tenant, "limit": limit, "after_start": after[0] if after else None,
              "after_id": after[1] if after else None}
    for ids in chunks(sorted(set(customer_ids))):
        wanted = padded(ids)
        stmt = _OF_CUSTOMERS[(len(wanted), after is not None)]
        for row in await stmt.rows(conn, {**values, **{f"id_{i}": v for i, v in enumerate(wanted)}}):
            out.setdefault(row.customer_id, []).append(_row(row))
    return {k: _newest_first(v) for k, v in out.items()}


async def interactions_of_services(
    conn: AsyncConnection, tenant: int, service_ids: Sequence[int]
) -> dict[int, list[Interaction]]:
    """service id → its interactions (by `service_id` or named by its events, as `service_interactions`),
    newest first; two statements per 100 services (the interaction ids their events name are in the second)."""
    out: dict[int, list[Interaction]] = {}
    for wanted in chunks(sorted(set(service_ids)), 100):
        for owner, found in (await _interactions_of_services(conn, tenant, wanted)).items():
            out.setdefault(owner, []).extend(found)
    return {k: _newest_first(v) for k, v in out.items()}


async def _interactions_of_services(
    conn: AsyncConnection, tenant: int, wanted: list[int]
) -> dict[int, list[Interaction]]:
    parts = [
        select(t.c.service_id, t.c.started, t.c.completed).where(t.c.tenant_id == tenant,
                                                                 t.c.service_id.in_(wanted))
        for t in (journeys.service, journeys.state, journeys.task)
    ]
    linked: dict[str, set[int]] = {}
    for row in await conn.execute(union_all(*parts)):
        for doc in (row.started, row.completed):
            value = jsonio.loads(doc).get("interaction_id") if doc else None
            if value:
                linked.setdefault(str(value), set()).add(row.service_id)
    match: Any = ixn.c.service_id.in_(wanted)
    if linked:
        match = or_(match, ixn.c.interaction_id.in_(sorted(linked)))
    owned = set(wanted)
    out: dict[int, list[Interaction]] = {}
    for row in await conn.execute(select(*_COLUMNS).where(ixn.c.tenant_id == tenant, match)):
        found = _row(row)
        owners = set(linked.get(found.interaction_id, ()))
        if found.service_id in owned:
            owners.add(found.service_id)
        for owner in owners:
            out.setdefault(owner, []).append(found)
    return out
