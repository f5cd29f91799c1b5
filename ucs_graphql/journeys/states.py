"""Use cases of the State operations: start, complete, transition, query (CV.WS.SRV.5, 6, 7, 12, 15)."""

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
    check_service,
    explain_not_completed,
    extension_schemas,
    load_extensions,
    nest,
    replace_extensions,
    service_or_404,
    write,
)
from ucs_graphql.journeys.service import type_values
from ucs_graphql.journeys.store import STATE, TASK, Filters
from ucs_graphql.journeys.values import business, format_dt_ms, parse_body
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import BadParameter, MissingParameter, NotFound
from ucs_graphql.kit.timefmt import now_ms

_START_FIELDS = ("state_type", "previous_state_id", "est_duration")
_END_FIELDS = ("disposition", "disposition_desc")
_FROM_FIELDS = ("state_id", "disposition", "disposition_desc")
_TO_FIELDS = ("state_type", "est_duration")


async def start_state(ctx: Ctx, service_id: int, body: Any) -> int:
    """Start a state in an active service; returns its id."""
    ctx.require_production("starting a state")
    b = parse_body(ctx, await ctx.schemas(), "state", body, _START_FIELDS, required=("state_type",),
                   ignored=("service_id",))
    values = {**b.fields, "service_id": service_id, "started_at": b.at_ms, "started": jsonio.dumps_str(b.event)}
    previous: int | None = b.fields.get("previous_state_id")
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[int, list[Event]]:
        got = await writes.start_child(conn, STATE, ctx.tenant, service_id, values, named_state=previous,
                                       last=not b.extensions)
        check_service(got, service_id, active=True)
        if not got.state_found:
            raise NotFound(f"state {previous} of service {service_id} does not exist")
        state_id = cast(int, got.item_id)
        await replace_extensions(conn, ctx, "state", state_id, b.extensions)
        return state_id, [Event("state_started", ctx.tenant, service_id, got.customer_id, at, state_id=state_id)]

    return await write(ctx, work, quick=not b.extensions)


async def complete_state(ctx: Ctx, service_id: int, state_id: int, body: Any) -> None:
    """Complete an active state with its end event and extensions (409 when it is already completed)."""
    ctx.require_production("completing a state")
    b = parse_body(ctx, await ctx.schemas(), "state", body, _END_FIELDS, ignored=("service_id", "state_id"))
    values = {**b.fields, "completed_at": b.at_ms, "completed": jsonio.dumps_str(b.event)}
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        got = await writes.complete_child(conn, STATE, ctx.tenant, service_id, state_id, values,
                                          last=not b.extensions)
        check_service(got, service_id, active=False)
        if got.item_id is None:
            raise await explain_not_completed(conn, ctx, STATE, service_id, state_id)
        await replace_extensions(conn, ctx, "state", state_id, b.extensions)
        return None, [Event("state_completed", ctx.tenant, service_id, got.customer_id, at, state_id=state_id)]

    await write(ctx, work, quick=not b.extensions)


def _part(body: dict[str, Any], name: str) -> dict[str, Any]:
    part = body.get(name)
    if part is None:
        raise MissingParameter(name)
    if not isinstance(part, dict):
        raise BadParameter(name, f"'{name}' must be a JSON object")
    return part


async def transition(ctx: Ctx, service_id: int, body: Any) -> int:
    """Complete `from.state_id` and start `to.state_type` in one transaction; returns the new state's id.

    The shared fields (and extensions) of the body apply to both states; `from` and `to` add their own.
    """
    ctx.require_production("performing a state transition")
    if not isinstance(body, dict):
        raise BadParameter("body", "the body must be a JSON object")
    shared = {k: v for k, v in body.items() if k not in ("from", "to", "service_id")}
    # One time ends one state and starts the other: the shared timestamp, else now (taken once for both).
    at = now_ms()
    now = (at, format_dt_ms(at))
    schemas = await ctx.schemas()
    done = parse_body(ctx, schemas, "state", {**shared, **_part(body, "from")}, _FROM_FIELDS,
                      required=("state_id",), now=now)
    new = parse_body(ctx, schemas, "state", {**shared, **_part(body, "to")}, _TO_FIELDS, required=("state_type",),
                     now=now)
    from_id: int = done.fields.pop("state_id")
    end_values = {**done.fields, "completed_at": done.at_ms, "completed": jsonio.dumps_str(done.event)}
    start_values = {**new.fields, "service_id": service_id, "previous_state_id": from_id, "started_at": new.at_ms,
                    "started": jsonio.dumps_str(new.event)}
    at = new.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[int, list[Event]]:
        got = await writes.transition(conn, ctx.tenant, service_id, from_id, end_values, start_values,
                                      last=not (done.extensions or new.extensions))
        check_service(got, service_id, active=True)
        if not got.state_found:
            raise await explain_not_completed(conn, ctx, STATE, service_id, from_id)
        state_id = cast(int, got.item_id)
        await replace_extensions(conn, ctx, "state", from_id, done.extensions)
        await replace_extensions(conn, ctx, "state", state_id, new.extensions)
        return state_id, [Event("state_transition", ctx.tenant, service_id, got.customer_id, at, state_id=state_id,
                                from_state_id=from_id)]

    return await write(ctx, work, quick=not (done.extensions or new.extensions))


async def _assemble(
    ctx: Ctx, conn: AsyncConnection, srv: Row[Any], rows: list[Row[Any]], inc: Include
) -> list[dict[str, Any]]:
    biz = business(ctx)
    wanted = extension_schemas(await ctx.schemas(), "state", inc.extensions)
    task_rows = await store.children(conn, TASK, ctx.tenant, [srv.service_id]) if inc.tasks and rows else []
    tasks: dict[int, list[tuple[Row[Any], dict[str, Any]]]] = defaultdict(list)
    for t in task_rows:
        if t.state_id is not None:
            tasks[t.state_id].append((t, render.item(biz, "task", t, top=False)))
    exts = await load_extensions(conn, ctx.tenant, "state", [r.state_id for r in rows], wanted)
    out = []
    for row in rows:
        doc = render.item(biz, "state", row, top=True, customer_id=srv.customer_id)
        nest(doc, tasks[row.state_id], "tasks", inc.active_tasks, inc.completed_tasks)
        doc.update(exts.get(row.state_id, {}))
        out.append(doc)
    return out


async def get_state(ctx: Ctx, service_id: int, state_id: int, inc: Include) -> dict[str, Any]:
    """One state of a service, with its tasks and extensions as asked (404 when absent)."""
    ctx.require_production("reading a state")
    async with ctx.db.read() as conn:
        srv = await service_or_404(conn, ctx, service_id)
        row = await store.get_child(conn, STATE, ctx.tenant, service_id, state_id)
        if row is None:
            raise NotFound(f"state {state_id} of service {service_id} does not exist")
        return (await _assemble(ctx, conn, srv, [row], inc))[0]


async def query_states(
    ctx: Ctx, service_id: int, status: str, state_types: Sequence[Any] | None, inc: Include
) -> list[dict[str, Any]]:
    """The states of a service: all, active or completed, of some types."""
    ctx.require_production("querying states")
    f = Filters(status=status, types=type_values(ctx, "state", state_types))
    async with ctx.db.read() as conn:
        srv = await service_or_404(conn, ctx, service_id)
        rows = await store.children(conn, STATE, ctx.tenant, [service_id], f)
        return await _assemble(ctx, conn, srv, rows, inc)
