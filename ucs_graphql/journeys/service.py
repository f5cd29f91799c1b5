"""Use cases of the Service operations: start, associate, complete, query (CV.WS.SRV.1, 2, 3, 10, 14)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event
from ucs_graphql.journeys import render, store, writes
from ucs_graphql.journeys.common import (
    Include,
    explain_not_completed,
    extension_schemas,
    load_extensions,
    nest,
    replace_extensions,
    write,
)
from ucs_graphql.journeys.store import SERVICE, STATE, TASK, Filters
from ucs_graphql.journeys.values import TYPE_FIELD, business, item_value, parse_body, parse_time
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import BadParameter, MissingParameter, NotFound

_START_FIELDS = ("service_type", "customer_id", "contact_key", "est_duration", "disposition", "disposition_desc")
_ASSOCIATE_FIELDS = ("service_type", "customer_id", "contact_key", "est_duration", "disposition",
                     "disposition_desc")
_END_FIELDS = ("disposition", "disposition_desc")


async def start_service(ctx: Ctx, body: Any) -> int:
    """Start a service for a customer or, anonymous, for a contact key; returns its id."""
    ctx.require_production("starting a service")
    b = parse_body(ctx, await ctx.schemas(), "service", body, _START_FIELDS, required=("service_type",))
    customer_id = b.fields.get("customer_id") or None
    contact_key = b.fields.get("contact_key") or None
    if customer_id is None and contact_key is None:
        raise MissingParameter("customer_id", "a service needs a customer_id or, when anonymous, a contact_key")
    values = {**b.fields, "customer_id": customer_id, "contact_key": contact_key, "started_at": b.at_ms,
              "started": jsonio.dumps_str(b.event)}
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[int, list[Event]]:
        got = await writes.start_service(conn, ctx.tenant, values, last=not b.extensions)
        service_id = cast(int, got.item_id)
        await replace_extensions(conn, ctx, "service", service_id, b.extensions)
        return service_id, [Event("service_started", ctx.tenant, service_id, customer_id, at)]

    return await write(ctx, work, quick=not b.extensions)


async def associate_service(ctx: Ctx, customer_id: str, service_id: int, body: Any) -> None:
    """Give the service to a customer (replacing any earlier one), updating start fields and extensions."""
    ctx.require_production("associating a service")
    customer_id = item_value(ctx, "service", "customer_id", customer_id)
    b = parse_body(ctx, await ctx.schemas(), "service", body, _ASSOCIATE_FIELDS)
    if b.fields.pop("customer_id", customer_id) != customer_id:
        raise BadParameter("customer_id", "the body names another customer than the path")
    given = {k: v for k, v in b.event.items() if k != "timestamp"}

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        row = await store.get_service(conn, ctx.tenant, service_id, lock="update")
        if row is None:
            raise NotFound(f"service {service_id} does not exist")
        values: dict[str, Any] = {**b.fields, "customer_id": customer_id}
        if given:
            values["started"] = jsonio.dumps_str({**jsonio.loads(row.started), **given})
        await store.update_service(conn, ctx.tenant, service_id, values)
        await replace_extensions(conn, ctx, "service", service_id, b.extensions)
        return None, [Event("service_associated", ctx.tenant, service_id, customer_id, b.event["timestamp"])]

    await write(ctx, work, quick=not b.extensions)


async def complete_service(ctx: Ctx, service_id: int, body: Any) -> None:
    """Complete an active service with its end event and extensions (409 when it is already completed)."""
    ctx.require_production("completing a service")
    b = parse_body(ctx, await ctx.schemas(), "service", body, _END_FIELDS)
    values = {**b.fields, "completed_at": b.at_ms, "completed": jsonio.dumps_str(b.event)}
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        got = await writes.complete_service(conn, ctx.tenant, service_id, values, last=not b.extensions)
        if got.item_id is None:
            raise await explain_not_completed(conn, ctx, SERVICE, service_id, service_id)
        await replace_extensions(conn, ctx, "service", service_id, b.extensions)
        return None, [Event("service_completed", ctx.tenant, service_id, got.customer_id, at)]

    await write(ctx, work, quick=not b.extensions)


def type_values(ctx: Ctx, level: str, given: Sequence[Any] | None) -> tuple[str, ...] | None:
    """The stored forms of a type filter (ids or names)."""
    if given is None:
        return None
    name = TYPE_FIELD[level]
    return tuple(business(ctx).store(level, name, v) for v in given)


def service_filters(
    ctx: Ctx, status: str, *, service_types: Sequence[Any] | None = None, started_from: str | None = None,
    started_to: str | None = None, completed_from: str | None = None, completed_to: str | None = None,
) -> Filters:
    """The Query Services filters from their wire values."""
    if status not in ("active", "completed", "all"):
        raise BadParameter("status", f"'{status}' is not active, completed or all")
    times = {k: (parse_time(k, v) if v is not None else None) for k, v in (
        ("started_from", started_from), ("started_to", started_to), ("completed_from", completed_from),
        ("completed_to", completed_to))}
    return Filters(status=status, types=type_values(ctx, "service", service_types), **times)


async def assemble(
    ctx: Ctx, conn: AsyncConnection, rows: list[Row[Any]], inc: Include
) -> list[dict[str, Any]]:
    """Wire services with the nested states, tasks and extensions `inc` asks for (constant statements)."""
    biz = business(ctx)
    wanted = extension_schemas(await ctx.schemas(), "service", inc.extensions)
    ids = [r.service_id for r in rows]
    state_rows = await store.children(conn, STATE, ctx.tenant, ids) if inc.states else []
    task_rows = await store.children(conn, TASK, ctx.tenant, ids) if inc.tasks else []
    exts = await load_extensions(conn, ctx.tenant, "service", ids, wanted)
    tasks_by_service: dict[int, list[tuple[Row[Any], dict[str, Any]]]] = defaultdict(list)
    tasks_by_state: dict[int, list[tuple[Row[Any], dict[str, Any]]]] = defaultdict(list)
    for t in task_rows:
        pair = (t, render.item(biz, "task", t, top=False))
        tasks_by_service[t.service_id].append(pair)
        if t.state_id is not None:
            tasks_by_state[t.state_id].append(pair)
    states_by_service: dict[int, list[tuple[Row[Any], dict[str, Any]]]] = defaultdict(list)
    for s in state_rows:
        doc = render.item(biz, "state", s, top=False)
        nest(doc, tasks_by_state[s.state_id], "tasks", inc.active_tasks, inc.completed_tasks)
        states_by_service[s.service_id].append((s, doc))
    out = []
    for row in rows:
        doc = render.item(biz, "service", row, top=True)
        nest(doc, states_by_service[row.service_id], "states", inc.active_states, inc.completed_states)
        nest(doc, tasks_by_service[row.service_id], "tasks", inc.active_tasks, inc.completed_tasks)
        doc.update(exts.get(row.service_id, {}))
        out.append(doc)
    return out


async def get_service(ctx: Ctx, service_id: int, inc: Include) -> dict[str, Any]:
    """One service with what `inc` asks for (404 when absent)."""
    ctx.require_production("reading a service")
    async with ctx.db.read() as conn:
        row = await store.get_service(conn, ctx.tenant, service_id)
        if row is None:
            raise NotFound(f"service {service_id} does not exist")
        return (await assemble(ctx, conn, [row], inc))[0]


async def query_services(
    ctx: Ctx, f: Filters, inc: Include, *, customer_id: str | None = None, contact_key: str | None = None
) -> list[dict[str, Any]]:
    """A customer's services, or the anonymous services of a contact key, filtered."""
    ctx.require_production("querying services")
    # A customer's active services are a few rows found by key (the IVR asks for them during a call).
    async with ctx.db.read(quick=customer_id is not None and f.status == "active") as conn:
        rows = await store.find_services(conn, ctx.tenant, f, customer_id=customer_id, contact_key=contact_key)
        return await assemble(ctx, conn, rows, inc)


async def active_service_counts(ctx: Ctx) -> list[tuple[int | str, int]]:
    """How many services of the tenant are active, by service type (its wire form), most first."""
    ctx.require_production("counting services")
    async with ctx.db.read() as conn:
        rows = await store.active_service_counts(conn, ctx.tenant)
    biz = business(ctx)
    counts: dict[int | str, int] = defaultdict(int)
    for stored, count in rows:  # two stored forms may show as one type
        counts[biz.show("service", "service_type", stored)] += count
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))


async def services_by_ids(ctx: Ctx, service_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Wire services (no nested lists) by id, in one statement; absent ids are left out."""
    ctx.require_production("reading services")
    async with ctx.db.read() as conn:
        rows = await store.services_by_ids(conn, ctx.tenant, service_ids)
        return {r.service_id: d for r, d in zip(rows, await assemble(ctx, conn, rows, Include()), strict=True)}
