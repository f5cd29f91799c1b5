"""Creating profiles, one or a batch, with one set of rules: sealed attributes, extension records and
identification entries written together in a constant number of statements per batch.

`Create Customer Profile` writes a batch of one; the bulk import writes its batches through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.ids import new_customer_id
from ucs_graphql.profiles.model import Data, ProfileInput, Record
from ucs_graphql.profiles.sealing import Sealer

LEVEL = "profile"


@dataclass
class NewProfile:
    """A profile ready to insert: its id, plain values (for the index) and their stored (sealed) form."""

    customer_id: str
    attrs: Data
    exts: list[tuple[ExtensionSchema, list[Record]]]
    stored: Data
    sealed: list[tuple[ExtensionSchema, list[Record]]]

    def plain_records(self) -> dict[str, list[Record]]:
        """Plain records by lower-case extension name (what the identification index reads)."""
        return {schema.key: recs for schema, recs in self.exts}


def prepare(sealer: Sealer, parsed: ProfileInput) -> NewProfile:
    """Seal a parsed profile body and give it its id (the given one, or a new one)."""
    exts = [(schema, recs) for schema, recs in parsed.exts if recs]
    return NewProfile(parsed.customer_id or new_customer_id(), parsed.attrs, exts, sealer.profile(parsed.attrs),
                      [(schema, sealer.records(schema, recs)) for schema, recs in exts])


async def insert_new(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, sealer: Sealer, profiles: Sequence[NewProfile]
) -> None:
    """Insert new profiles with their extension records and identification entries, inside the caller's
    transaction: one statement for the profiles, two per extension used, one per identification key.

    An existing customer id, a unique-record clash or a second customer with the values of a unique key is
    AlreadyExists (naming the customer, extension or key when one row is written).
    """
    if not profiles:
        return
    await profile_store.insert_profiles(conn, tenant, [(p.customer_id, p.stored) for p in profiles])
    by_ext: dict[str, tuple[ExtensionSchema, list[tuple[str, Sequence[Record]]]]] = {}
    for p in profiles:
        for schema, recs in p.sealed:
            by_ext.setdefault(schema.key, (schema, []))[1].append((p.customer_id, recs))
    for schema, owners in by_ext.values():
        try:
            await ext_store.insert_new_owners(conn, tenant, LEVEL, schema, owners)
        except sa_exc.IntegrityError as err:
            clash = ext_store.as_already_exists(err, schema)
            if clash is None:
                raise
            raise clash from err
    await index.index_new(conn, tenant, schemas, sealer.cipher,
                          [(p.customer_id, p.attrs, p.plain_records()) for p in profiles])
    await sealer.commit(conn)
