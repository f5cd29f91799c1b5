"""Use cases on one extension of a service, state or task: replace it, update or delete one record by its
unique attributes (CV.WS.SRV.4, 17, 18, 19-24)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.journeys import store
from ucs_graphql.journeys.common import replace_extensions, write
from ucs_graphql.journeys.values import extension_records
from ucs_graphql.kit.errors import BadParameter, NotFound
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.metadata.records import validate_record


async def _owner(conn: AsyncConnection, ctx: Ctx, level: str, service_id: int, item_id: int | None) -> int:
    """The id owning the records; 404 when the service, or its state or task, does not exist.

    The service row stays locked until the transaction ends, so extension writes on one service and its
    items run one after the other: a replace never sees the records of a replace still in flight.
    """
    if await store.get_service(conn, ctx.tenant, service_id, lock="update") is None:
        raise NotFound(f"service {service_id} does not exist")
    if level == "service" or item_id is None:
        return service_id
    if await store.get_child(conn, store.LEVELS[level], ctx.tenant, service_id, item_id) is None:
        raise NotFound(f"{level} {item_id} of service {service_id} does not exist")
    return item_id


async def _schema(ctx: Ctx, level: str, name: str) -> ExtensionSchema:
    schema = (await ctx.schemas()).extension(level, name)
    if schema is None:
        raise NotFound(f"{level} extension '{name}' does not exist")
    return schema


async def replace_extension(ctx: Ctx, level: str, service_id: int, item_id: int | None, name: str,
                            body: Any) -> None:
    """Replace the item's records of one extension with the body (an object, or an array of them)."""
    ctx.require_production(f"updating a {level} extension")
    await _schema(ctx, level, name)
    if not isinstance(body, dict | list):
        raise BadParameter(name, "the body must be a JSON object or an array of objects")
    given = [extension_records(ctx, await ctx.schemas(), level, name, body)]

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        owner = await _owner(conn, ctx, level, service_id, item_id)
        await replace_extensions(conn, ctx, level, owner, given)
        return None, []

    await write(ctx, work)


async def _by_unique(ctx: Ctx, level: str, service_id: int, item_id: int | None, name: str, body: Any,
                     action: Callable[..., Awaitable[bool]], what: str) -> None:
    ctx.require_production(f"{what} a {level} extension record")
    schema = await _schema(ctx, level, name)
    record = validate_record(schema, body, check_reserved_values=ctx.settings.check_reserved_values, partial=True)

    async def work(conn: AsyncConnection) -> tuple[None, list[Event]]:
        owner = await _owner(conn, ctx, level, service_id, item_id)
        if not await action(conn, ctx.tenant, level, str(owner), schema, record):
            raise NotFound(f"no record of extension '{schema.name}' has these unique values")
        return None, []

    await write(ctx, work)


async def update_record(ctx: Ctx, level: str, service_id: int, item_id: int | None, name: str, body: Any) -> None:
    """Update the record the body's unique attributes select with its other attributes (404 when none)."""
    await _by_unique(ctx, level, service_id, item_id, name, body, ext_store.update_by_unique, "updating")


async def delete_record(ctx: Ctx, level: str, service_id: int, item_id: int | None, name: str, body: Any) -> None:
    """Delete the record the body's unique attributes select (404 when none)."""
    await _by_unique(ctx, level, service_id, item_id, name, body, ext_store.delete_by_unique, "deleting")
