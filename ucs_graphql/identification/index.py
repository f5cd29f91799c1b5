"""Identification index maintenance, called inside the writing transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import IdentificationKey


async def build_key(conn: AsyncConnection, tenant: int, key: IdentificationKey, schemas: TenantSchemas) -> None:
    """Index every existing customer under a newly created key (refusing duplicates of a unique key)."""
    return None


async def drop_key(conn: AsyncConnection, tenant: int, key: IdentificationKey) -> None:
    """Remove every index entry of a deleted key."""
    return None
