"""Use case of Merge Customer Profile (CV.WS.PROF.MERGE.1): one transaction, all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.crypto.fields import open_profile, open_record
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.interactions import customer_links as interaction_links
from ucs_graphql.journeys import customer_links
from ucs_graphql.kit.errors import BadParameter
from ucs_graphql.metadata.model import ExtensionSchema, coerce_bool
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.model import Data, Record
from ucs_graphql.profiles.sealing import Sealer
from ucs_graphql.profiles.service import LEVEL, lock_existing, write_records

OPTIONS = ("keep_uniq_from_src", "keep_active_service_only")


def parse_options(body: Any) -> tuple[bool, bool]:
    """keep_uniq_from_src and keep_active_service_only (both false by default; strings accepted)."""
    if body is None:
        return False, False
    if not isinstance(body, dict):
        raise BadParameter("merge", "the body must be a JSON object")
    for name in body:
        if name not in OPTIONS:
            raise BadParameter(name, f"unknown merge option; expected {' or '.join(OPTIONS)}")
    return tuple(  # type: ignore[return-value]
        coerce_bool(name, body[name]) if body.get(name) is not None else False for name in OPTIONS)


def merge_attributes(dst: Data, src: Data) -> Data:
    """Destination values first, then the source's values it lacks (case-sensitive comparison)."""
    out = {name: list(values) for name, values in dst.items()}
    for name, values in src.items():
        have = out.setdefault(name, [])
        for value in values:
            if value not in have:
                have.append(value)
    return out


def merge_records(schema: ExtensionSchema, dst: list[Record], src: list[Record], keep_src: bool) -> list[Record]:
    """A destination's records after the merge (stored forms; unique values compare equal when sealed)."""
    if not src:
        return dst
    if not schema.multi:
        return src if keep_src or not dst else dst
    if not schema.unique:
        return dst + src

    def keys(records: list[Record]) -> set[tuple[int, str]]:
        return {k for r in records for k in ext_store.unique_keys(schema, r)}

    if keep_src:
        taken = keys(src)
        return [r for r in dst if not taken & set(ext_store.unique_keys(schema, r))] + src
    taken = keys(dst)
    return dst + [r for r in src if not taken & set(ext_store.unique_keys(schema, r))]


async def merge_profiles(ctx: Ctx, customer_id: str, src_id: str, body: Any = None) -> None:
    """Merge the source profile into the destination and delete the source; nothing changes on failure."""
    ctx.require_production("merging customer profiles")
    keep_src, active_only = parse_options(body)
    if customer_id == src_id:
        raise BadParameter("src_id", "a profile cannot be merged into itself")
    schemas = await ctx.schemas()
    sealer = Sealer(ctx, schemas)
    cipher = sealer.cipher

    async def work(conn: AsyncConnection) -> None:
        found = await lock_existing(conn, ctx.tenant, [customer_id, src_id])
        attrs = merge_attributes(open_profile(schemas.profile_attributes, cipher, ctx.tenant, found[customer_id]),
                                 open_profile(schemas.profile_attributes, cipher, ctx.tenant, found[src_id]))
        loaded = await ext_store.load(conn, ctx.tenant, LEVEL, [customer_id, src_id])
        final: dict[str, list[Record]] = dict(loaded[customer_id])
        for ext_key, src_records in loaded[src_id].items():
            schema = schemas.extension(LEVEL, ext_key)
            if schema is None:
                continue
            merged = merge_records(schema, final.get(ext_key, []), src_records, keep_src)
            if merged is not final.get(ext_key):
                final[ext_key] = merged
                await write_records(conn, ctx.tenant, customer_id, schema, merged, replace=True)
        await customer_links.move_customer_services(conn, ctx.tenant, src_id, customer_id, active_only=active_only)
        await interaction_links.move_customer_interactions(conn, ctx.tenant, src_id, customer_id)
        await ext_store.delete_owners(conn, ctx.tenant, LEVEL, [src_id])
        await index.forget(conn, ctx.tenant, [customer_id, src_id])
        await profile_store.delete_profiles(conn, ctx.tenant, [src_id])
        await profile_store.replace_data(conn, ctx.tenant, customer_id, sealer.profile(attrs))
        plain = {key: [open_record(s, cipher, ctx.tenant, r) for r in recs] for key, recs in final.items()
                 if (s := schemas.extension(LEVEL, key)) is not None}
        await index.reindex(conn, ctx.tenant, schemas, cipher, customer_id, schemas.keys, attrs=attrs,
                            records=plain, fresh=True)
        await sealer.commit(conn)

    await ctx.db.write(work)
