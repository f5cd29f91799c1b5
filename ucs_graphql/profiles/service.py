"""Use cases of the profile operations: CV.WS.PROF.1/2/3/4/6/7/8 (merge: merge.py; identify: identification)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.crypto import keyring
from ucs_graphql.crypto.fields import open_record
from ucs_graphql.db.engine import FEW_KEYS
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.interactions import customer_links as interaction_links
from ucs_graphql.journeys import customer_links
from ucs_graphql.kit.errors import NotFound, UcsError, UnreadableValue
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.metadata.records import validate_record
from ucs_graphql.profiles import creation, reading
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.ids import check_customer_id
from ucs_graphql.profiles.model import Data, Record, extension_schema, parse_profile
from ucs_graphql.profiles.sealing import Sealer

LEVEL = creation.LEVEL


def _missing(customer_id: str) -> NotFound:
    return NotFound(f"customer '{customer_id}' does not exist")


async def lock_existing(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> dict[str, Data]:
    """Stored data of customers that must exist, their rows locked for the transaction (404 naming one absent)."""
    found = await profile_store.lock(conn, tenant, customer_ids)
    for cid in customer_ids:
        if cid not in found:
            raise _missing(cid)
    return found


async def write_records(
    conn: AsyncConnection, tenant: int, customer_id: str, schema: ExtensionSchema, records: list[Record], *,
    replace: bool,
) -> None:
    """Replace (or insert, with the reference's insert rules) sealed records; a unique clash is a 409."""
    try:
        if replace:
            await ext_store.replace(conn, tenant, LEVEL, customer_id, schema, records)
        else:
            await ext_store.insert_records(conn, tenant, LEVEL, customer_id, schema, records)
    except sa_exc.IntegrityError as err:
        clash = ext_store.as_already_exists(err, schema)
        if clash is None:
            raise
        raise clash from err


async def reindex_extensions(
    conn: AsyncConnection, ctx: Ctx, schemas: TenantSchemas, customer_id: str, names: Sequence[str]
) -> None:
    """Recompute a customer's entries under the keys over these extensions from the stored records."""
    keys = index.extension_keys(schemas, names)
    if not keys:
        return
    cipher = keyring.cipher_of(ctx.rt)
    wanted = [s for n in {k.source.lower() for k in keys} if (s := schemas.extension(LEVEL, n)) is not None]
    loaded = (await ext_store.load(conn, ctx.tenant, LEVEL, [customer_id], [s.key for s in wanted]))[customer_id]
    plain = {s.key: [open_record(s, cipher, ctx.tenant, r) for r in loaded.get(s.key, [])] for s in wanted}
    await index.reindex(conn, ctx.tenant, schemas, cipher, customer_id, keys, records=plain)


async def create_profile(ctx: Ctx, body: Any) -> str:
    """Create a profile with its extension records and identification entries; returns the customer id."""
    ctx.require_production("creating a customer profile")
    schemas = await ctx.schemas()
    parsed = parse_profile(schemas, body, check_values=ctx.settings.check_reserved_values)
    sealer = Sealer(ctx, schemas)
    new = creation.prepare(sealer, parsed)

    async def work(conn: AsyncConnection) -> str:
        await creation.insert_new(conn, ctx.tenant, schemas, sealer, [new])
        return new.customer_id

    return await ctx.db.write(work)


async def get_profile(ctx: Ctx, customer_id: str, extensions: Sequence[str] | str | None = None) -> dict[str, Any]:
    """A Customer Profile: every attribute with a value, and the extensions asked for."""
    ctx.require_production("reading a customer profile")
    schemas = await ctx.schemas()
    wanted = reading.wanted_extensions(schemas, extensions)
    async with ctx.db.read(quick=True) as conn:
        found = await reading.read_profiles(conn, ctx.tenant, schemas, keyring.cipher_of(ctx.rt), [customer_id],
                                            attributes=True, wanted=wanted)
    if not found:
        raise _missing(customer_id)
    return found[0]


async def update_profile(ctx: Ctx, customer_id: str, body: Any) -> None:
    """Replace every attribute of a profile; extensions given in the body are replaced whole."""
    ctx.require_production("updating a customer profile")
    schemas = await ctx.schemas()
    parsed = parse_profile(schemas, body, check_values=ctx.settings.check_reserved_values, customer_id=customer_id)
    sealer = Sealer(ctx, schemas)
    stored = sealer.profile(parsed.attrs)
    exts = [(schema, sealer.records(schema, recs)) for schema, recs in parsed.exts]

    async def work(conn: AsyncConnection) -> None:
        await lock_existing(conn, ctx.tenant, [customer_id])
        await profile_store.replace_data(conn, ctx.tenant, customer_id, stored)
        for schema, recs in exts:
            await write_records(conn, ctx.tenant, customer_id, schema, recs, replace=True)
        keys = index.profile_keys(schemas) + index.extension_keys(schemas, [s.name for s, _ in exts])
        await index.reindex(conn, ctx.tenant, schemas, sealer.cipher, customer_id, keys, attrs=parsed.attrs,
                            records={s.key: recs for s, recs in parsed.exts})
        await sealer.commit(conn)

    await ctx.db.write(work)


async def delete_profile(ctx: Ctx, customer_id: str) -> None:
    """Delete a profile, its extension records, identification entries and services."""
    ctx.require_production("deleting a customer profile")

    async def work(conn: AsyncConnection) -> None:
        await lock_existing(conn, ctx.tenant, [customer_id])
        await customer_links.delete_customer_services(conn, ctx.tenant, [customer_id])
        await interaction_links.delete_customer_interactions(conn, ctx.tenant, [customer_id])
        await ext_store.delete_owners(conn, ctx.tenant, LEVEL, [customer_id])
        await index.forget(conn, ctx.tenant, [customer_id])
        await profile_store.delete_profiles(conn, ctx.tenant, [customer_id])

    await ctx.db.write(work)


async def insert_extensions(ctx: Ctx, customer_id: str, body: Any) -> None:
    """Insert extension records: single-valued replaces; multi-valued adds (same unique values replace)."""
    ctx.require_production("inserting profile extension records")
    check_customer_id(customer_id)
    schemas = await ctx.schemas()
    parsed = parse_profile(schemas, body, check_values=ctx.settings.check_reserved_values, attributes=False,
                           customer_id=customer_id)
    sealer = Sealer(ctx, schemas)
    exts = [(schema, sealer.records(schema, recs)) for schema, recs in parsed.exts]

    async def work(conn: AsyncConnection) -> None:
        await lock_existing(conn, ctx.tenant, [customer_id])
        for schema, recs in exts:
            await write_records(conn, ctx.tenant, customer_id, schema, recs, replace=False)
        await reindex_extensions(conn, ctx, schemas, customer_id, [s.name for s, _ in exts])
        await sealer.commit(conn)

    await ctx.db.write(work)


async def _by_unique(ctx: Ctx, customer_id: str, ext_name: str, body: Any, *, delete: bool) -> None:
    schemas = await ctx.schemas()
    schema = extension_schema(schemas, ext_name)
    record = validate_record(schema, body, check_reserved_values=ctx.settings.check_reserved_values, partial=True)
    sealer = Sealer(ctx, schemas)
    sealed = sealer.records(schema, [record])[0]

    async def work(conn: AsyncConnection) -> None:
        await lock_existing(conn, ctx.tenant, [customer_id])
        if delete:
            done = await ext_store.delete_by_unique(conn, ctx.tenant, LEVEL, customer_id, schema, sealed)
        else:
            done = await ext_store.update_by_unique(conn, ctx.tenant, LEVEL, customer_id, schema, sealed)
        if not done:
            raise NotFound(f"customer '{customer_id}' has no '{schema.name}' record with these unique attributes")
        await reindex_extensions(conn, ctx, schemas, customer_id, [schema.name])
        await sealer.commit(conn)

    await ctx.db.write(work)


async def update_extension_record(ctx: Ctx, customer_id: str, ext_name: str, body: Any) -> None:
    """Update the record the unique attributes select (never those attributes themselves)."""
    ctx.require_production("updating a profile extension record")
    await _by_unique(ctx, customer_id, ext_name, body, delete=False)


async def delete_extension_record(ctx: Ctx, customer_id: str, ext_name: str, body: Any) -> None:
    """Delete the record the unique attributes select."""
    ctx.require_production("deleting a profile extension record")
    await _by_unique(ctx, customer_id, ext_name, body, delete=True)


async def load_attributes(ctx: Ctx, customer_ids: Sequence[str]) -> dict[str, dict[str, Any] | UnreadableValue]:
    """Rendered attributes of many customers (absent ones are missing), one statement; UnreadableValue for a
    customer whose attributes cannot all be decrypted."""
    ctx.require_production("reading customer profiles")
    schemas = await ctx.schemas()
    async with ctx.db.read(quick=len(customer_ids) <= FEW_KEYS) as conn:
        return await reading.load_attributes(conn, ctx.tenant, schemas, keyring.cipher_of(ctx.rt), customer_ids)


async def load_extensions(
    ctx: Ctx, customer_ids: Sequence[str], names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Rendered extensions of many customers, one statement (UnreadableValue in place of an extension whose
    records cannot all be decrypted)."""
    ctx.require_production("reading customer profiles")
    wanted = reading.wanted_extensions(await ctx.schemas(), names)
    async with ctx.db.read(quick=len(customer_ids) <= FEW_KEYS) as conn:
        return await reading.load_extensions(conn, ctx.tenant, keyring.cipher_of(ctx.rt), customer_ids, wanted)


async def load_extensions_each(
    ctx: Ctx, keys: Sequence[tuple[str, Sequence[str]]]
) -> list[dict[str, Any] | UcsError]:
    """For each (customer id, extension names) key, its rendered extensions, or the error of that key alone
    (an unknown name, or a value that cannot be decrypted, fails the keys that ask for it, not the others); one
    statement for all of them."""
    ctx.require_production("reading customer profiles")
    schemas = await ctx.schemas()
    chosen: list[list[ExtensionSchema] | UcsError] = []
    for _, names in keys:
        try:
            chosen.append(reading.wanted_extensions(schemas, names))
        except UcsError as err:
            chosen.append(err)
    ids = list(dict.fromkeys(cid for (cid, _), c in zip(keys, chosen, strict=True) if not isinstance(c, UcsError)))
    union = list({s.key: s for c in chosen if not isinstance(c, UcsError) for s in c}.values())
    async with ctx.db.read(quick=len(ids) <= FEW_KEYS) as conn:
        got = await reading.load_extensions(conn, ctx.tenant, keyring.cipher_of(ctx.rt), ids, union)
    out: list[dict[str, Any] | UcsError] = []
    for (cid, _), c in zip(keys, chosen, strict=True):
        if isinstance(c, UcsError):
            out.append(c)
            continue
        picked = {s.name: got[cid][s.name] for s in c}
        # An extension with a value that cannot be decrypted is the error of the keys that ask for it.
        out.append(next((v for v in picked.values() if isinstance(v, UnreadableValue)), picked))
    return out
