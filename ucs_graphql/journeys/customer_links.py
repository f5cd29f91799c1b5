"""What profile writes do to a customer's services, inside the profile's write transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.journeys import store
from ucs_graphql.journeys.common import delete_item_extensions


async def _delete(conn: AsyncConnection, tenant: int, service_ids: list[int]) -> None:
    await delete_item_extensions(conn, tenant, service_ids)
    await store.delete_services(conn, tenant, service_ids)


async def delete_customer_services(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> None:
    """Delete every service of these customers with their states, tasks and extension records."""
    if customer_ids:
        await _delete(conn, tenant, await store.customer_service_ids(conn, tenant, customer_ids))


async def move_customer_services(
    conn: AsyncConnection, tenant: int, src: str, dst: str, *, active_only: bool
) -> None:
    """Move a merged-away customer's services (all, or the active ones only) to the destination customer;
    the services left behind are deleted."""
    if active_only:
        await _delete(conn, tenant, await store.customer_service_ids(conn, tenant, [src], active=False))
    await store.move_services(conn, tenant, await store.customer_service_ids(conn, tenant, [src]), dst)
