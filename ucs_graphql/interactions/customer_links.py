"""What profile writes do to a customer's interactions, inside the profile's write transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.chunks import chunks
from ucs_graphql.db.tables.interactions import interaction, interaction_content


async def delete_customer_interactions(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> None:
    """Delete the interactions of deleted customers, with their content."""
    for part in chunks(customer_ids):
        owned = select(interaction.c.interaction_id).where(
            interaction.c.tenant_id == tenant, interaction.c.customer_id.in_(part))
        await conn.execute(delete(interaction_content).where(
            interaction_content.c.tenant_id == tenant, interaction_content.c.interaction_id.in_(owned)))
        await conn.execute(delete(interaction).where(
            interaction.c.tenant_id == tenant, interaction.c.customer_id.in_(part)))


async def move_customer_interactions(conn: AsyncConnection, tenant: int, src: str, dst: str) -> None:
    """Give a merged-away customer's interactions to the destination customer."""
    await conn.execute(update(interaction).where(interaction.c.tenant_id == tenant, interaction.c.customer_id == src)
                       .values(customer_id=dst))
