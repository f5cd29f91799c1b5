"""Inserting many new profiles in a few statements (bulk import, benchmarks): rows, records, index entries.

The caller validates each body (profiles.model.parse_profile) and runs `insert_new_profiles` inside its
write transaction, one batch at a time; identification entries are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.crypto import keyring
from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import encrypted, seal_profile, seal_record
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.identification import store as ident_store
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import AlreadyExists, Unavailable
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.ids import new_customer_id
from ucs_graphql.profiles.model import ProfileInput

LEVEL = "profile"


def _need(cipher: FieldCipher | None) -> FieldCipher:
    if cipher is None:
        raise Unavailable("encrypted attributes need an encryption key (set encryption_key or UCS_ENCRYPTION_KEY)")
    return cipher


async def insert_new_profiles(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None,
    profiles: Sequence[ProfileInput],
) -> list[str]:
    """Insert validated new profiles with their records and identification entries; returns their ids.

    A statement per table (and per key), whatever the batch size. An existing id, a clash of unique
    extension values or of a unique key is AlreadyExists, and the caller's transaction rolls back.
    """
    ids = [p.customer_id or new_customer_id() for p in profiles]
    secret = any(a.encrypt for a in schemas.profile_attributes.values())
    rows = []
    for cid, p in zip(ids, profiles, strict=True):
        data = p.attrs
        if secret and any((a := schemas.profile_attribute(n)) is not None and a.encrypt for n in data):
            data = seal_profile(schemas.profile_attributes, _need(cipher), tenant, data)
        rows.append((cid, data))
    await profile_store.insert_profiles(conn, tenant, rows)
    records: list[dict[str, Any]] = []
    uniques: list[dict[str, Any]] = []
    for cid, p in zip(ids, profiles, strict=True):
        for schema, recs in p.exts:
            for rec_no, rec in enumerate(recs, start=1):
                stored = seal_record(schema, _need(cipher), tenant, rec) if encrypted(schema) else rec
                base = {"tenant_id": tenant, "level": LEVEL, "owner": cid, "ext": schema.key, "rec_no": rec_no}
                records.append({**base, "data": jsonio.dumps_str(stored)})
                uniques += [{**base, "grp": grp, "value": value}
                            for grp, value in ext_store.unique_keys(schema, stored)]
    try:
        if records:
            await conn.execute(insert(extension_record), records)
        if uniques:
            await conn.execute(insert(extension_unique), uniques)
    except sa_exc.IntegrityError as err:
        raise AlreadyExists("two records of one customer's extension have the same unique attributes") from err
    for key in schemas.keys:
        pairs = [(value, cid) for cid, p in zip(ids, profiles, strict=True)
                 for value in index.key_entries(key, schemas, cipher, p.attrs, {s.key: r for s, r in p.exts})]
        await ident_store.insert_entries(conn, tenant, key, pairs)
    if cipher is not None and (secret or any(encrypted(s) for p in profiles for s, _ in p.exts)):
        await keyring.record_use(conn, cipher)
    return ids
