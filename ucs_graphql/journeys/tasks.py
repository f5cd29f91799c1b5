"""Use cases of the Task operations: start, complete, query (CV.WS.SRV.8, 9, 13, 16)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event
from ucs_graphql.journeys import render, store, writes
from ucs_graphql.journeys.common import (
    check_service,
    explain_not_completed,
    extension_schemas,
    load_extensions,
    replace_extensions,
    service_or_404,
    write,
)
from ucs_graphql.journeys.service import type_values
from ucs_graphql.journeys.store import TASK, Filters
from ucs_graphql.journeys.values import business, parse_body
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import NotFound, StateConflict

_START_FIELDS = ("task_type", "state_id", "est_duration")
_END_FIELDS = ("disposition", "disposition_desc")


async def start_task(ctx: Ctx, service_id: int, body: Any) -> int:
    """Start a task in an active service, in one of its active states when `state_id` is given; returns its id."""
    ctx.require_production("starting a task")
    b = parse_body(ctx, await ctx.schemas(), "task", body, _START_FIELDS, required=("task_type",),
                   ignored=("service_id",))
    state_id = b.fields.get("state_id")
    values = {**b.fields, "service_id": service_id, "started_at": b.at_ms, "started": jsonio.dumps_str(b.event)}
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[int, list[Event]]:
        got = await writes.start_child(conn, TASK, ctx.tenant, service_id, values, named_state=state_id,
                                       last=not b.extensions)
        check_service(got, service_id, active=True)
        if not got.state_found:
            raise NotFound(f"state {state_id} of service {service_id} does not exist")
        if not got.state_active:
            raise StateConflict(f"state {state_id} is completed: no task can start in it")
        task_id = cast(int, got.item_id)
        await replace_extensions(conn, ctx, "task", task_id, b.extensions)
        return task_id, [Event("task_started", ctx.tenant, service_id, got.customer_id, at, state_id=state_id,
                               task_id=task_id)]

    return await write(ctx, work, quick=not b.extensions)


async def complete_task(ctx: Ctx, service_id: int, task_id: int, body: Any) -> None:
    """Complete an active task with its end event and extensions (409 when it is already completed)."""
    ctx.require_production("completing a task")
    b = parse_body(ctx, await ctx.schemas(), "task", body, _END_FIELDS,
                   ignored=("service_id", "state_id", "task_id"))
    values = {**b.fields, "completed_at": b.at_ms, "completed": jsonio.dumps_str(b.event)}
    at = b.event["timestamp"]

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        got = await writes.complete_child(conn, TASK, ctx.tenant, service_id, task_id, values,
                                          last=not b.extensions)
        check_service(got, service_id, active=False)
        if got.item_id is None:
            raise await explain_not_completed(conn, ctx, TASK, service_id, task_id)
        await replace_extensions(conn, ctx, "task", task_id, b.extensions)
        return None, [Event("task_completed", ctx.tenant, service_id, got.customer_id, at, state_id=got.state_id,
                            task_id=task_id)]

    await write(ctx, work, quick=not b.extensions)


async def _render(
    ctx: Ctx, conn: AsyncConnection, srv: Row[Any], rows: list[Row[Any]], extensions: Sequence[str] | None
) -> list[dict[str, Any]]:
    biz = business(ctx)
    wanted = extension_schemas(await ctx.schemas(), "task", extensions)
    exts = await load_extensions(conn, ctx.tenant, "task", [r.task_id for r in rows], wanted)
    out = []
    for row in rows:
        doc = render.item(biz, "task", row, top=True, customer_id=srv.customer_id)
        doc.update(exts.get(row.task_id, {}))
        out.append(doc)
    return out


async def get_task(ctx: Ctx, service_id: int, task_id: int, extensions: Sequence[str] | None) -> dict[str, Any]:
    """One task of a service with the extensions asked for (404 when absent)."""
    ctx.require_production("reading a task")
    async with ctx.db.read() as conn:
        srv = await service_or_404(conn, ctx, service_id)
        row = await store.get_child(conn, TASK, ctx.tenant, service_id, task_id)
        if row is None:
            raise NotFound(f"task {task_id} of service {service_id} does not exist")
        return (await _render(ctx, conn, srv, [row], extensions))[0]


async def query_tasks(
    ctx: Ctx, service_id: int, status: str, task_types: Sequence[Any] | None, state_id: int | None,
    extensions: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """The tasks of a service: all, active or completed, of some types, of one state."""
    ctx.require_production("querying tasks")
    f = Filters(status=status, types=type_values(ctx, "task", task_types), state_id=state_id)
    async with ctx.db.read() as conn:
        srv = await service_or_404(conn, ctx, service_id)
        rows = await store.children(conn, TASK, ctx.tenant, [service_id], f)
        return await _render(ctx, conn, srv, rows, extensions)
