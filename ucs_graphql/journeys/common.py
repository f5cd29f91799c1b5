"""Shared pieces of the journeys use cases: the write with events, extensions of items, item lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event, EventBus, write_and_publish
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.journeys import store
from ucs_graphql.journeys.writes import Outcome
from ucs_graphql.kit.errors import BadParameter, NotFound, StateConflict
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema

T = TypeVar("T")
Records = list[tuple[ExtensionSchema, list[dict[str, Any]]]]


def bus(ctx: Ctx) -> EventBus | None:
    """The process's event bus (None when the runtime runs without one)."""
    got = ctx.rt.parts.get("events")
    return got if isinstance(got, EventBus) else None


async def write(
    ctx: Ctx, work: Callable[[AsyncConnection], Awaitable[tuple[T, list[Event]]]], *, quick: bool = False
) -> T:
    """One write transaction whose events are published once it commits. `quick`: a few statements on a few
    rows (no extension records), which SQLite may run on the event loop's thread (Database.write)."""
    return await write_and_publish(bus(ctx), ctx.db.quick_write if quick else ctx.db.write, work)


def check_service(got: Outcome, service_id: int, *, active: bool) -> None:
    """404 when the write found no service; 409 when it must be active and is completed."""
    if not got.found:
        raise NotFound(f"service {service_id} does not exist")
    if active and not got.active:
        raise StateConflict(f"service {service_id} is completed: no state or task can start in it")


async def replace_extensions(conn: AsyncConnection, ctx: Ctx, level: str, owner: int, given: Records) -> None:
    """Replace the item's records of each given extension (a unique clash is 409 naming the extension)."""
    for schema, records in given:
        try:
            await ext_store.replace(conn, ctx.tenant, level, str(owner), schema, records)
        except sa_exc.IntegrityError as err:
            clash = ext_store.as_already_exists(err, schema)
            if clash is None:
                raise
            raise clash from err


def extension_schemas(schemas: TenantSchemas, level: str, names: Sequence[str] | None) -> list[ExtensionSchema]:
    """The schemas asked for by an `extensions=` list (400 naming an unknown one)."""
    out = []
    for name in names or ():
        schema = schemas.extension(level, name)
        if schema is None:
            raise BadParameter("extensions", f"'{name}' is not a {level} extension")
        out.append(schema)
    return out


async def load_extensions(
    conn: AsyncConnection, tenant: int, level: str, owners: Sequence[int], wanted: Sequence[ExtensionSchema]
) -> dict[int, dict[str, Any]]:
    """owner id → {extension name: record or records} for the wanted extensions, in one statement.

    A single-valued extension without a record is left out; a multi-valued one is an empty array.
    """
    if not wanted or not owners:
        return {o: {} for o in owners}
    loaded = await ext_store.load(conn, tenant, level, [str(o) for o in owners], [s.key for s in wanted])
    out: dict[int, dict[str, Any]] = {}
    for owner in owners:
        recs = loaded.get(str(owner), {})
        docs: dict[str, Any] = {}
        for schema in wanted:
            value = ext_store.render(schema, recs.get(schema.key, []))
            if value is not None:
                docs[schema.name] = value
        out[owner] = docs
    return out


async def delete_item_extensions(conn: AsyncConnection, tenant: int, service_ids: Sequence[int]) -> None:
    """Delete the extension records of these services and of all their states and tasks."""
    if not service_ids:
        return
    state_ids = await store.ids_of_services(conn, store.STATE, tenant, service_ids)
    task_ids = await store.ids_of_services(conn, store.TASK, tenant, service_ids)
    for level, ids in (("service", service_ids), ("state", state_ids), ("task", task_ids)):
        await ext_store.delete_owners(conn, tenant, level, [str(i) for i in ids])


async def service_or_404(conn: AsyncConnection, ctx: Ctx, service_id: int) -> Row[Any]:
    """The service (404 when absent)."""
    row = await store.get_service(conn, ctx.tenant, service_id)
    if row is None:
        raise NotFound(f"service {service_id} does not exist")
    return row


async def explain_not_completed(
    conn: AsyncConnection, ctx: Ctx, level: store.Level, service_id: int, item_id: int
) -> Exception:
    """Why an item could not be completed: 404 when it is not there, 409 when it already is completed."""
    if level is store.SERVICE:
        row = await store.get_service(conn, ctx.tenant, service_id)
        what = f"service {service_id}"
    else:
        row = await store.get_child(conn, level, ctx.tenant, service_id, item_id)
        what = f"{level.name} {item_id} of service {service_id}"
    if row is None:
        return NotFound(f"{what} does not exist")
    return StateConflict(f"{what} is already completed")


@dataclass(frozen=True)
class Include:
    """Which nested lists and extensions a query asks for."""

    active_states: bool = False
    completed_states: bool = False
    active_tasks: bool = False
    completed_tasks: bool = False
    extensions: tuple[str, ...] | None = None

    @property
    def states(self) -> bool:
        return self.active_states or self.completed_states

    @property
    def tasks(self) -> bool:
        return self.active_tasks or self.completed_tasks


def nest(out: dict[str, Any], children: list[tuple[Row[Any], dict[str, Any]]], kind: str, active: bool,
         completed: bool) -> None:
    """Add `active_<kind>` / `completed_<kind>` lists (as asked) from (row, wire) pairs."""
    if active:
        out[f"active_{kind}"] = [doc for row, doc in children if row.completed_at is None]
    if completed:
        out[f"completed_{kind}"] = [doc for row, doc in children if row.completed_at is not None]
