"""SQL for extension records (shared by the four levels)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


async def drop_extension(conn: AsyncConnection, tenant: int, level: str, name: str) -> None:
    """Delete every record of an extension whose schema is being deleted."""
    return None
