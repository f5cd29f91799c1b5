"""SQL of the journeys context (SQLAlchemy Core): services, states and tasks, always scoped by tenant.

Every function takes the caller's connection; write functions run inside the caller's write transaction.
A constant number of statements serves each call, whatever the number of items involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    Row,
    String,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import IN_CHUNK, chunks, padded
from ucs_graphql.db.fast import FastShapes
from ucs_graphql.db.tables.journeys import new_id, service, state, task


@dataclass(frozen=True)
class Level:
    """A kind of journey item: its table, id column and name."""

    name: str
    table: Table

    @property
    def id(self) -> Column[Any]:
        return self.table.c[f"{self.name}_id"]


SERVICE = Level("service", service)
STATE = Level("state", state)
TASK = Level("task", task)
LEVELS = {"service": SERVICE, "state": STATE, "task": TASK}


@dataclass(frozen=True)
class Filters:
    """Selection of items: active/completed/all, types (stored forms), time windows, a state."""

    status: str = "all"  # "active", "completed" or "all"
    types: tuple[str, ...] | None = None
    started_from: int | None = None
    started_to: int | None = None
    completed_from: int | None = None
    completed_to: int | None = None
    state_id: int | None = None


_TIMES = ("started_from", "started_to", "completed_from", "completed_to")


def _filter_shape(f: Filters) -> tuple[Any, ...]:
    """What the conditions of `f` look like: its status, how many type parameters (padded), which times and
    whether a state is given."""
    return (f.status, len(padded(f.types)) if f.types else (0 if f.types is not None else None),
            tuple(getattr(f, name) is not None for name in _TIMES), f.state_id is not None)


def _filter_values(f: Filters) -> dict[str, Any]:
    """The parameters of `_filtered` for `f` (named as its bindparams)."""
    out: dict[str, Any] = {name: getattr(f, name) for name in (*_TIMES, "state_id")}
    if f.types:
        out.update((f"type_{i}", v) for i, v in enumerate(padded(f.types)))
    return out


def _filtered(level: Level, shape: tuple[Any, ...], value: Any) -> list[Any]:
    """The conditions of a filter shape, their values given by `value(name)` (a literal, or a bindparam)."""
    status, types, times, state_id = shape
    t = level.table
    out: list[Any] = []
    if status == "active":
        out.append(t.c.completed_at.is_(None))
    elif status == "completed":
        out.append(t.c.completed_at.is_not(None))
    if types is not None:
        out.append(t.c[f"{level.name}_type"].in_([value(f"type_{i}") for i in range(types)]))
    started_from, started_to, completed_from, completed_to = times
    if started_from:
        out.append(t.c.started_at >= value("started_from"))
    if started_to:
        out.append(t.c.started_at < value("started_to"))
    if status != "active":
        if completed_from:
            out.append(t.c.completed_at >= value("completed_from"))
        if completed_to:
            out.append(t.c.completed_at < value("completed_to"))
    if state_id and level is TASK:
        out.append(t.c.state_id == value("state_id"))
    return out


def in_id_order(column: Column[Any]) -> Any:
    """What a list of a customer's or a service's items is sorted by: the id, as an expression. The primary key
    (tenant_id, id) can deliver rows in id order, and SQLite's planner, without statistics, prefers it to the
    customer or service index it then scans the tenant's every row with; sorting the few rows found by the
    other index is what every engine should do."""
    return column + literal_column("0")


# Start, complete and read-by-id are the journey's hot paths: their statements are built once per shape
# (level, columns given, lock) and run on the driver (ucs_graphql.db.fast).

def _build_insert(shape: tuple[str, frozenset[str], str]) -> Any:
    level = LEVELS[shape[0]]
    cols: dict[str, Any] = {"tenant_id": bindparam("v_tenant_id"), **new_id(shape[2], level.table),
                            **{c: bindparam(f"v_{c}") for c in sorted(shape[1])}}
    return insert(level.table).values(cols).returning(level.id)


def _build_get_service(lock: str | None) -> Any:
    stmt = select(service).where(service.c.tenant_id == bindparam("tenant"),
                                 service.c.service_id == bindparam("service_id"))
    return stmt.with_for_update(read=lock == "share") if lock is not None else stmt


def _build_get_child(shape: tuple[str, bool]) -> Any:
    level, lock = LEVELS[shape[0]], shape[1]
    t = level.table
    stmt = select(t).where(t.c.tenant_id == bindparam("tenant"), t.c.service_id == bindparam("service_id"),
                           level.id == bindparam("item_id"))
    return stmt.with_for_update(read=True) if lock else stmt


def _build_complete(shape: tuple[str, frozenset[str]]) -> Any:
    level = LEVELS[shape[0]]
    t = level.table
    conds = [t.c.tenant_id == bindparam("w_tenant"), level.id == bindparam("w_id"), t.c.completed_at.is_(None)]
    if level is not SERVICE:
        conds.append(t.c.service_id == bindparam("w_service"))
    return update(t).where(*conds).values({c: bindparam(f"v_{c}") for c in sorted(shape[1])}).returning(*t.c)


_INSERT = FastShapes(_build_insert)
_GET_SERVICE = FastShapes(_build_get_service)
_GET_CHILD = FastShapes(_build_get_child)
_COMPLETE = FastShapes(_build_complete)


def _prefixed(values: dict[str, Any]) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in values.items()}


async def insert_item(conn: AsyncConnection, level: Level, tenant: int, values: dict[str, Any]) -> int:
    """Insert a service, state or task; returns its new id."""
    stmt = _INSERT[(level.name, frozenset(values), conn.dialect.name)]
    rows = await stmt.fetch(conn, {"v_tenant_id": tenant, **_prefixed(values)})
    return int(rows[0][0])


async def get_service(
    conn: AsyncConnection, tenant: int, service_id: int, *, lock: str | None = None
) -> Row[Any] | None:
    """One service row; `lock` "share" holds it against completion until the transaction ends, "update"
    against any other write (PostgreSQL row locks; SQLite's write transactions are serial anyway)."""
    rows = await _GET_SERVICE[lock].rows(conn, {"tenant": tenant, "service_id": service_id})
    return rows[0] if rows else None


async def services_by_ids(conn: AsyncConnection, tenant: int, service_ids: Sequence[int]) -> list[Row[Any]]:
    """Service rows by id, in id order (absent ids are left out)."""
    out: list[Row[Any]] = []
    for part in chunks(sorted(set(service_ids))):
        stmt = select(service).where(service.c.tenant_id == tenant, service.c.service_id.in_(part))
        out.extend(await conn.execute(stmt.order_by(service.c.service_id)))
    return out


async def get_child(
    conn: AsyncConnection, level: Level, tenant: int, service_id: int, item_id: int, *, lock: bool = False
) -> Row[Any] | None:
    """One state or task of a service."""
    rows = await _GET_CHILD[(level.name, lock)].rows(
        conn, {"tenant": tenant, "service_id": service_id, "item_id": item_id})
    return rows[0] if rows else None


async def complete_item(
    conn: AsyncConnection, level: Level, tenant: int, service_id: int, item_id: int, values: dict[str, Any]
) -> Row[Any] | None:
    """Mark an active item completed with `values`; None when it is absent or already completed."""
    rows = await _COMPLETE[(level.name, frozenset(values))].rows(
        conn, {"w_tenant": tenant, "w_id": item_id, "w_service": service_id, **_prefixed(values)})
    return rows[0] if rows else None


async def update_service(conn: AsyncConnection, tenant: int, service_id: int, values: dict[str, Any]) -> None:
    """Update columns of one service."""
    await conn.execute(update(service).where(service.c.tenant_id == tenant, service.c.service_id == service_id)
                       .values(**values))


async def active_service_counts(conn: AsyncConnection, tenant: int) -> list[tuple[str, int]]:
    """(stored service type, count) of the tenant's active services, in type order."""
    stmt = (select(service.c.service_type, func.count().label("count"))
            .where(service.c.tenant_id == tenant, service.c.completed_at.is_(None))
            .group_by(service.c.service_type).order_by(service.c.service_type))
    return [(str(row[0]), int(row[1])) for row in await conn.execute(stmt)]


def _build_find_services(shape: tuple[bool, tuple[Any, ...]]) -> Any:
    by_customer, filters = shape
    conds = [service.c.tenant_id == bindparam("tenant"), *_filtered(SERVICE, filters, bindparam)]
    if by_customer:
        conds.append(service.c.customer_id == bindparam("customer_id"))
    else:
        conds += [service.c.customer_id.is_(None), service.c.contact_key == bindparam("contact_key")]
    return select(service).where(*conds).order_by(in_id_order(service.c.service_id))


# A customer's services (the IVR's "active services" at every call) run on the driver too.
_FIND_SERVICES = FastShapes(_build_find_services)


async def find_services(
    conn: AsyncConnection, tenant: int, f: Filters, *, customer_id: str | None = None,
    contact_key: str | None = None,
) -> list[Any]:
    """A customer's services, or the anonymous services of a contact key, in start order."""
    stmt = _FIND_SERVICES[(customer_id is not None, _filter_shape(f))]
    return await stmt.rows(conn, {"tenant": tenant, "customer_id": customer_id, "contact_key": contact_key,
                                  **_filter_values(f)})


def _build_services_of_customers(shape: tuple[int, tuple[Any, ...], bool]) -> Any:
    customers, filters, after = shape
    conds = [service.c.tenant_id == bindparam("tenant"),
             service.c.customer_id.in_([bindparam(f"id_{i}") for i in range(customers)]),
             *_filtered(SERVICE, filters, bindparam)]
    if after:
        conds.append(service.c.service_id > bindparam("after"))
    # Ranked by `service_id + 0`, which no index gives: for one customer (IN of one value), SQLite's planner,
    # without statistics, would otherwise read every service of the tenant in id order (the primary key) to
    # save the sort of a few rows, instead of the customer's index.
    order = service.c.service_id + literal_column("0")
    rank = func.row_number().over(partition_by=service.c.customer_id, order_by=order).label("rank")
    ranked = select(service, rank).where(*conds).subquery()
    cols = [ranked.c[c.name] for c in service.c]
    return (select(*cols).where(ranked.c.rank <= bindparam("limit"))
            .order_by(ranked.c.customer_id, ranked.c.service_id))


def _build_children(shape: tuple[str, str, int, tuple[Any, ...]]) -> Any:
    level, by, owners, filters = LEVELS[shape[0]], shape[1], shape[2], shape[3]
    t = level.table
    conds = [t.c.tenant_id == bindparam("tenant"), t.c[by].in_([bindparam(f"id_{i}") for i in range(owners)]),
             *_filtered(level, filters, bindparam)]
    return select(t).where(*conds).order_by(in_id_order(level.id))


# The graph's batched reads (GraphQL DataLoaders) run on the driver too: one statement per shape (filters,
# and the number of ids padded to a power of two).
_SERVICES_OF_CUSTOMERS = FastShapes(_build_services_of_customers)
_CHILDREN = FastShapes(_build_children)


def _ids(ids: Sequence[Any]) -> dict[str, Any]:
    return {f"id_{i}": v for i, v in enumerate(padded(ids))}


async def services_of_customers(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None
) -> list[Any]:
    """Up to `limit` services of each customer (service id order, after service `after`), one statement per
    1,000 customers."""
    if limit <= 0:
        return []
    shape = _filter_shape(f)
    values = {"tenant": tenant, "limit": limit, "after": after, **_filter_values(f)}
    out: list[Any] = []
    for ids in chunks(sorted(set(customer_ids))):
        stmt = _SERVICES_OF_CUSTOMERS[(len(padded(ids)), shape, after is not None)]
        out.extend(await stmt.rows(conn, {**values, **_ids(ids)}))
    return out


async def children(
    conn: AsyncConnection, level: Level, tenant: int, owner_ids: Sequence[int], f: Filters | None = None,
    *, by: str = "service_id",
) -> list[Any]:
    """States or tasks of many services (or tasks of many states, `by` "state_id") in one statement, in
    start order."""
    if not owner_ids:
        return []
    f = f or Filters()
    shape = _filter_shape(f)
    values = {"tenant": tenant, **_filter_values(f)}
    out: list[Any] = []
    for part in chunks(owner_ids):
        stmt = _CHILDREN[(level.name, by, len(padded(part)), shape)]
        out.extend(await stmt.rows(conn, {**values, **_ids(part)}))
    if len(owner_ids) > IN_CHUNK:
        out.sort(key=lambda row: getattr(row, f"{level.name}_id"))
    return out


ServicesShape = tuple[int, tuple[Any, ...], bool, tuple[str, ...]]
"""Customers (padded), filter shape, whether a cursor is given, levels read along: a page of services with
its states and tasks."""


def services_with_parts(shape: ServicesShape) -> list[Any]:
    """The SELECTs of a page of services of many customers (group 0) and of every item of `levels` of those
    services (groups 1, 2), all with the columns of WITH_COLUMNS; parameters `tenant`, `id_<n>` (customers),
    `limit`, `after` and the filter's (`services_with_values`)."""
    customers, filters, after, levels = shape
    page = _build_services_of_customers((customers, filters, after)).cte("page")
    none_int, none_text = cast(null(), Integer), cast(null(), String)
    parts = [select(literal_column("0").label("grp"), page.c.service_id.label("item_id"), page.c.service_id,
                    page.c.customer_id, page.c.contact_key, page.c.service_type.label("item_type"),
                    none_int.label("state_id"), none_int.label("previous_state_id"),
                    *(page.c[c] for c in _ITEM_COLUMNS))]
    for n, name in enumerate(levels, start=1):
        level = LEVELS[name]
        t = level.table
        parts.append(select(
            literal_column(str(n)), level.id, t.c.service_id, none_text, none_text, t.c[f"{name}_type"],
            t.c.state_id if level is TASK else none_int, t.c.previous_state_id if level is STATE else none_int,
            *(t.c[c] for c in _ITEM_COLUMNS)).where(t.c.tenant_id == bindparam("tenant"),
                                                    t.c.service_id.in_(select(page.c.service_id))))
    return parts


WITH_COLUMNS = ("grp", "item_id", "service_id", "customer_id", "contact_key", "item_type", "state_id",
                "previous_state_id", "est_duration", "started_at", "completed_at", "disposition", "disposition_desc",
                "started", "completed")
"""The columns of `services_with_parts`' SELECTs, in order."""


def _build_services_with(shape: ServicesShape) -> Any:
    return union_all(*services_with_parts(shape)).order_by(literal_column("grp"), literal_column("customer_id"),
                                                           literal_column("item_id"))


# A page of services of many customers with every state and task of those services (`levels`), in one
# statement (a WITH of the page, then a UNION ALL), built once per shape.
_SERVICES_WITH = FastShapes(_build_services_with)


async def services_with_children(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None,
    levels: tuple[str, ...],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """`services_of_customers` (as mappings of their columns by name) and, for each of `levels` ("state",
    "task"), every item of those services in start order; one statement for up to 1,000 customers."""
    if len(set(customer_ids)) > IN_CHUNK or limit <= 0:
        rows = await services_of_customers(conn, tenant, customer_ids, f, limit, after)
        ids = [r.service_id for r in rows]
        return [dict(r._mapping) for r in rows], {
            name: [dict(r._mapping) for r in await children(conn, LEVELS[name], tenant, ids)] for name in levels}
    shape, values = services_with_shape(tenant, customer_ids, f, limit, after, levels)
    return services_with_rows(await _SERVICES_WITH[shape].fetch(conn, values), levels)


def services_with_shape(tenant: int, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None,
                        levels: tuple[str, ...]) -> tuple[ServicesShape, dict[str, Any]]:
    """The shape of `services_with_parts` for these customers and its parameters (up to 1,000 customers)."""
    ids = sorted(set(customer_ids))
    shape = (len(padded(ids)), _filter_shape(f), after is not None, levels)
    return shape, {"tenant": tenant, "limit": limit, "after": after, **_filter_values(f), **_ids(ids)}


def services_with_rows(rows: Iterable[Sequence[Any]], levels: tuple[str, ...]
                       ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The services and the items of each level in rows of `services_with_parts` (in their order)."""
    services: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {name: [] for name in levels}
    keys = [(f"{name}_id", f"{name}_type", items[name]) for name in levels]
    for row in rows:
        # The columns of _ITEM_COLUMNS follow the eighth, in that order (a literal: one dict per row, at once).
        if row[0] == 0:
            services.append({"service_id": row[1], "customer_id": row[3], "contact_key": row[4],
                             "service_type": row[5], "est_duration": row[8], "started_at": row[9],
                             "completed_at": row[10], "disposition": row[11], "disposition_desc": row[12],
                             "started": row[13], "completed": row[14]})
            continue
        id_key, type_key, found = keys[row[0] - 1]
        item = {id_key: row[1], "service_id": row[2], type_key: row[5], "est_duration": row[8],
                "started_at": row[9], "completed_at": row[10], "disposition": row[11], "disposition_desc": row[12],
                "started": row[13], "completed": row[14]}
        if id_key == "task_id":
            item["state_id"] = row[6]
        else:
            item["previous_state_id"] = row[7]
        found.append(item)
    return services, items


Group = tuple[Level, str, Sequence[int], Filters]
"""Items of one level whose `by` column (service_id or state_id) is one of the owners, matching the filters."""

_ITEM_COLUMNS = ("est_duration", "started_at", "completed_at", "disposition", "disposition_desc", "started",
                 "completed")  # services_with_rows reads them by position


def _build_groups(shape: tuple[tuple[str, str, int, tuple[Any, ...]], ...]) -> Any:
    parts = []
    for i, (name, by, owners, filters) in enumerate(shape):
        level = LEVELS[name]
        t = level.table

        def param(key: str, i: int = i) -> Any:
            return bindparam(f"g{i}_{key}")

        conds = [t.c.tenant_id == bindparam("tenant"), t.c[by].in_([param(f"id_{n}") for n in range(owners)]),
                 *_filtered(level, filters, param)]
        none = cast(null(), Integer)
        parts.append(select(
            literal_column(str(i)).label("grp"), level.id.label("item_id"), t.c.service_id,
            (t.c.state_id if level is TASK else none).label("state_id"), t.c[f"{name}_type"].label("item_type"),
            (t.c.previous_state_id if level is STATE else none).label("previous_state_id"),
            *(t.c[c] for c in _ITEM_COLUMNS)).where(*conds))
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return query.order_by(literal_column("grp"), literal_column("item_id"))


# States and tasks of several owners and filters (GraphQL's loader of a service's states and tasks) in one
# statement: a UNION ALL of one SELECT per group, built once per shape.
_GROUPS = FastShapes(_build_groups)


async def children_of_groups(conn: AsyncConnection, tenant: int, groups: Sequence[Group]
                             ) -> list[list[dict[str, Any]]]:
    """For each group, its items in start order as mappings of their columns by name (as `children` reads
    them): one statement when every group has at most 1,000 owners, else one per group and chunk."""
    if any(len(owners) > IN_CHUNK for _, _, owners, _ in groups):
        return [[dict(row._mapping) for row in await children(conn, level, tenant, owners, f, by=by)]
                for level, by, owners, f in groups]
    shape = tuple((level.name, by, len(padded(owners)), _filter_shape(f)) for level, by, owners, f in groups)
    values: dict[str, Any] = {"tenant": tenant}
    for i, (_, _, owners, f) in enumerate(groups):
        values.update((f"g{i}_{k}", v) for k, v in _filter_values(f).items())
        values.update((f"g{i}_id_{n}", v) for n, v in enumerate(padded(owners)))
    out: list[list[dict[str, Any]]] = [[] for _ in groups]
    for row in await _GROUPS[shape].fetch(conn, values):
        level = groups[row[0]][0]
        item = dict(zip(_ITEM_COLUMNS, row[6:], strict=True))
        item[f"{level.name}_id"] = row[1]
        item["service_id"] = row[2]
        item[f"{level.name}_type"] = row[4]
        if level is TASK:
            item["state_id"] = row[3]
        else:
            item["previous_state_id"] = row[5]
        out[row[0]].append(item)
    return out


async def ids_of_services(conn: AsyncConnection, level: Level, tenant: int, service_ids: Sequence[int]) -> list[int]:
    """The ids of every state or task of these services."""
    t = level.table
    out: list[int] = []
    for part in chunks(service_ids):
        rows = await conn.execute(select(level.id).where(t.c.tenant_id == tenant, t.c.service_id.in_(part)))
        out.extend(r[0] for r in rows)
    return out


async def customer_service_ids(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], *, active: bool | None = None
) -> list[int]:
    """The ids of these customers' services (all, active only, or completed only), their rows locked until the
    transaction ends: writes inside them still in flight finish first, later ones wait (then find them gone)."""
    out: list[int] = []
    for part in chunks(sorted(set(customer_ids))):
        conds = [service.c.tenant_id == tenant, service.c.customer_id.in_(part)]
        if active is True:
            conds.append(service.c.completed_at.is_(None))
        elif active is False:
            conds.append(service.c.completed_at.is_not(None))
        stmt = select(service.c.service_id).where(*conds).order_by(in_id_order(service.c.service_id)).with_for_update()
        out.extend(r[0] for r in await conn.execute(stmt))
    return sorted(out)


async def delete_services(conn: AsyncConnection, tenant: int, service_ids: Sequence[int]) -> None:
    """Delete services with their states and tasks (their extension records are the caller's)."""
    for ids in chunks(service_ids):
        for t in (task, state):
            await conn.execute(delete(t).where(t.c.tenant_id == tenant, t.c.service_id.in_(ids)))
        await conn.execute(delete(service).where(service.c.tenant_id == tenant, service.c.service_id.in_(ids)))


async def move_services(conn: AsyncConnection, tenant: int, service_ids: Sequence[int], customer_id: str) -> None:
    """Give these services to another customer."""
    for part in chunks(service_ids):
        await conn.execute(update(service).where(
            and_(service.c.tenant_id == tenant, service.c.service_id.in_(part)))
            .values(customer_id=customer_id))
