"""Batched reads for GraphQL DataLoaders: items of many services or states, extensions of many items.

Each call opens its own short read transaction and runs a constant number of statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event
from ucs_graphql.journeys import render, store
from ucs_graphql.journeys.common import Include, bus, extension_schemas, load_extensions
from ucs_graphql.journeys.service import assemble, type_values
from ucs_graphql.journeys.store import Filters
from ucs_graphql.journeys.values import business
from ucs_graphql.kit.errors import UcsError, Unavailable

BY_STATUS = {status: Filters(status=status) for status in ("active", "completed", "all")}
"""The filters of a status alone, made once (Filters are frozen; a nested list asks for them per object)."""


def item_filters(ctx: Ctx, level: str, status: str, types: Sequence[Any] | None,
                 state_id: int | None = None) -> Filters:
    """Filters of nested lists: status, types (ids or names), and a state for tasks."""
    if types is None and state_id is None and status in BY_STATUS:
        return BY_STATUS[status]
    return Filters(status=status, types=type_values(ctx, level, types), state_id=state_id)


async def children_of(
    ctx: Ctx, level: str, owner_ids: Sequence[int], f: Filters, *, by: str = "service_id"
) -> dict[int, list[dict[str, Any]]]:
    """owner id → wire states or tasks (with service_id) matching `f`, in start order."""
    ctx.require_production(f"reading {level}s")
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    biz = business(ctx)
    async with ctx.db.read() as conn:
        rows = await store.children(conn, store.LEVELS[level], ctx.tenant, owner_ids, f, by=by)
    for row in rows:
        out[getattr(row, by)].append(render.item(biz, level, row, top=True))
    return out


async def children_of_groups(
    ctx: Ctx, groups: Sequence[tuple[str, str, Sequence[int], Filters]]
) -> list[dict[int, list[dict[str, Any]]]]:
    """`children_of` for several (level, owner column, owner ids, filters) groups at once, in one statement
    (ucs_graphql.journeys.store.children_of_groups)."""
    for level in {g[0] for g in groups}:
        ctx.require_production(f"reading {level}s")
    biz = business(ctx)
    async with ctx.db.read() as conn:
        found = await store.children_of_groups(
            conn, ctx.tenant, [(store.LEVELS[level], by, owners, f) for level, by, owners, f in groups])
    out: list[dict[int, list[dict[str, Any]]]] = []
    for (level, by, _, _), items in zip(groups, found, strict=True):
        docs: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for m in items:
            docs[m[by]].append(render.item_of(biz, level, m, top=True))
        out.append(docs)
    return out


async def services_of_customers(
    ctx: Ctx, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None
) -> dict[str, list[dict[str, Any]]]:
    """customer id → up to `limit` wire services matching `f` (no nested lists), in id order after service
    `after`, in one statement whatever the number of customers."""
    ctx.require_production("querying services")
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with ctx.db.read() as conn:
        rows = await store.services_of_customers(conn, ctx.tenant, customer_ids, f, limit, after)
        docs = await assemble(ctx, conn, rows, Include())
    for row, doc in zip(rows, docs, strict=True):
        out[row.customer_id].append(doc)
    return out


async def services_and_children_of_customers(
    ctx: Ctx, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None, levels: tuple[str, ...]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[int, list[dict[str, Any]]]]]:
    """`services_of_customers`, and for each of `levels` ("state", "task") service id → every item of the
    level as `children_of` gives it, in one statement whatever the number of customers (up to 1,000)."""
    ctx.require_production("querying services")
    for level in levels:
        ctx.require_production(f"reading {level}s")
    async with ctx.db.read() as conn:
        services, items = await store.services_with_children(conn, ctx.tenant, customer_ids, f, limit, after, levels)
    return rendered_services_and_children(ctx, services, items)


def rendered_services_and_children(
    ctx: Ctx, services: Sequence[dict[str, Any]], items: dict[str, list[dict[str, Any]]]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[int, list[dict[str, Any]]]]]:
    """`services_and_children_of_customers` of what store.services_with_children read."""
    biz = business(ctx)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in services:
        out[m["customer_id"]].append(render.item_of(biz, "service", m, top=True))
    children: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for level, found in items.items():
        docs: dict[int, list[dict[str, Any]]] = {m["service_id"]: [] for m in services}
        for m in found:
            docs[m["service_id"]].append(render.item_of(biz, level, m, top=True))
        children[level] = docs
    return out, children


async def extensions_of(
    ctx: Ctx, level: str, owner_ids: Sequence[int], names: Sequence[str] | None
) -> dict[int, dict[str, Any]]:
    """owner id → {extension name: records} of the named extensions (every extension of the level when None)."""
    ctx.require_production(f"reading {level} extensions")
    schemas = await ctx.schemas()
    wanted = extension_schemas(schemas, level, names) if names is not None else list(schemas.extensions[level].values())
    async with ctx.db.read() as conn:
        return await load_extensions(conn, ctx.tenant, level, owner_ids, wanted)


async def extensions_each(
    ctx: Ctx, level: str, keys: Sequence[tuple[int, Sequence[str] | None]]
) -> list[dict[str, Any] | UcsError]:
    """For each (owner id, extension names) key, its extensions, or the error of that key alone (an unknown
    name fails the keys that ask for it, not the others); one statement per distinct list of names."""
    by_names: dict[tuple[str, ...] | None, list[int]] = {}
    for owner, names in keys:
        by_names.setdefault(tuple(names) if names is not None else None, []).append(owner)
    found: dict[tuple[str, ...] | None, dict[int, dict[str, Any]] | UcsError] = {}
    for names, owners in by_names.items():
        try:
            found[names] = await extensions_of(ctx, level, owners, names)
        except UcsError as err:
            found[names] = err
    out: list[dict[str, Any] | UcsError] = []
    for owner, names in keys:
        got = found[tuple(names) if names is not None else None]
        out.append(got if isinstance(got, UcsError) else got.get(owner, {}))
    return out


async def follow(ctx: Ctx, customer_id: str | None, service_id: int | None) -> AsyncIterator[Event]:
    """The tenant's journey events as they are committed, for one customer or service (all when neither)."""
    ctx.require_production("following journey events")
    events = bus(ctx)
    if events is None:
        raise Unavailable("live events are not available on this server")
    async with events.subscribe(ctx.tenant, customer_id, service_id) as sub:
        while True:
            yield await sub.next()
