"""Reading profiles for the wire: attributes and extensions of many customers, one statement each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import open_profile, open_record
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.kit.errors import NotFound
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.model import render_attributes, render_extension


def wanted_extensions(schemas: TenantSchemas, names: Sequence[str] | str | None) -> list[ExtensionSchema]:
    """Profile extensions named in a list or a comma-separated string (404 naming an unknown one)."""
    if names is None:
        return []
    items = names.split(",") if isinstance(names, str) else list(names)
    out: list[ExtensionSchema] = []
    for raw in items:
        name = raw.strip()
        if not name:
            continue
        schema = schemas.extension("profile", name)
        if schema is None:
            raise NotFound(f"profile extension '{name}' does not exist")
        if schema not in out:
            out.append(schema)
    return out


async def load_attributes(
    conn: AsyncConnection, tenant: int, cipher: FieldCipher | None, customer_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Rendered attributes of the customers that exist."""
    stored = await profile_store.load(conn, tenant, customer_ids)
    return {cid: render_attributes(open_profile(cipher, data)) for cid, data in stored.items()}


async def load_extensions(
    conn: AsyncConnection, tenant: int, cipher: FieldCipher | None, customer_ids: Sequence[str],
    wanted: Sequence[ExtensionSchema],
) -> dict[str, dict[str, Any]]:
    """Rendered extensions (name -> object/array/null) of each customer."""
    if not wanted or not customer_ids:
        return {cid: {s.name: render_extension(s, []) for s in wanted} for cid in customer_ids}
    loaded = await ext_store.load(conn, tenant, "profile", customer_ids, [s.key for s in wanted])
    return {cid: {s.name: render_extension(s, [open_record(s, cipher, r) for r in loaded[cid].get(s.key, [])])
                  for s in wanted} for cid in customer_ids}


async def read_profiles(
    conn: AsyncConnection, tenant: int, cipher: FieldCipher | None, customer_ids: Sequence[str], *,
    attributes: bool, wanted: Sequence[ExtensionSchema],
) -> list[dict[str, Any]]:
    """Customer Profile documents in the order asked: customer_id, attributes (when asked), extensions."""
    attrs = await load_attributes(conn, tenant, cipher, customer_ids) if attributes else {}
    exts = await load_extensions(conn, tenant, cipher, customer_ids, wanted) if wanted else {}
    out = []
    for cid in customer_ids:
        if attributes and cid not in attrs:
            continue
        out.append({"customer_id": cid, **attrs.get(cid, {}), **exts.get(cid, {})})
    return out
