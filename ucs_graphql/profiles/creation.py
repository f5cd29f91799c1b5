"""Creating profiles, one or a batch, with one set of rules: sealed attributes, extension records and
identification entries written together in a constant number of statements per batch.

`Create Customer Profile` writes a batch of one, a statement per table so that a clash names what clashed;
the bulk import writes its batches through the same code, every table in one statement (db.fast.FastInserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.db.fast import FastInsert, FastInserts
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.db.tables.profiles import ident_entry, profile
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.identification import store as ident_store
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import AlreadyExists
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.ids import new_customer_id
from ucs_graphql.profiles.model import Data, ProfileInput, Record
from ucs_graphql.profiles.sealing import Sealer

LEVEL = "profile"
# Batches of at least this many profiles are written in one statement.
BATCH_MIN = FastInsert.SMALL
_INSERT_ALL = FastInserts(profile, extension_record, extension_unique, ident_entry)


@dataclass
class BatchRows:
    """What a new profile adds to each table in a batch: its stored data as JSON text, its extension records
    and their unique rows, its identification entries (rows in the tables' column order)."""

    data: str
    records: list[tuple[Any, ...]]
    uniques: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]


@dataclass
class NewProfile:
    """A profile ready to insert: its id, plain values (for the index) and their stored (sealed) form."""

    customer_id: str
    attrs: Data
    exts: list[tuple[ExtensionSchema, list[Record]]]
    stored: Data
    sealed: list[tuple[ExtensionSchema, list[Record]]]
    # Its rows for a batch insert, when built ahead of it (batch_rows).
    rows: BatchRows | None = None

    def plain_records(self) -> dict[str, list[Record]]:
        """Plain records by lower-case extension name (what the identification index reads)."""
        return {schema.key: recs for schema, recs in self.exts}


def prepare(sealer: Sealer, parsed: ProfileInput) -> NewProfile:
    """Seal a parsed profile body and give it its id (the given one, or a new one)."""
    exts = [(schema, recs) for schema, recs in parsed.exts if recs]
    return NewProfile(parsed.customer_id or new_customer_id(), parsed.attrs, exts, sealer.profile(parsed.attrs),
                      [(schema, sealer.records(schema, recs)) for schema, recs in exts])


async def insert_new(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, sealer: Sealer, profiles: Sequence[NewProfile],
    *, last: bool = False,
) -> None:
    """Insert new profiles with their extension records and identification entries, inside the caller's
    transaction: one statement for the profiles, two per extension used, one per identification key.
    `last`: the caller runs nothing after this in its transaction (a batch may then commit by itself, see
    db.fast.FastInserts).

    An existing customer id, a unique-record clash or a second customer with the values of a unique key is
    AlreadyExists (naming the customer, extension or key when fewer than BATCH_MIN profiles are written).
    """
    if not profiles:
        return
    if len(profiles) >= BATCH_MIN:
        await _insert_batch(conn, tenant, schemas, sealer, profiles, last=last)
        return
    await profile_store.insert_profiles(conn, tenant, [(p.customer_id, p.stored) for p in profiles])
    for schema, owners in _by_extension(profiles):
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


def _by_extension(profiles: Sequence[NewProfile]) -> list[tuple[ExtensionSchema, list[tuple[str, Sequence[Record]]]]]:
    """The sealed records of new profiles grouped by extension: (schema, [(customer id, records)])."""
    by_ext: dict[str, tuple[ExtensionSchema, list[tuple[str, Sequence[Record]]]]] = {}
    for p in profiles:
        for schema, recs in p.sealed:
            by_ext.setdefault(schema.key, (schema, []))[1].append((p.customer_id, recs))
    return list(by_ext.values())


def batch_rows(tenant: int, keys: index.NewEntries, new: NewProfile) -> BatchRows:
    """The rows a new profile adds to a batch insert (`keys`: the tenant's keys, made once for many). A bulk
    import builds them as it reads each record, so that a batch is ready to send once its last record is read."""
    cid = new.customer_id
    records: list[tuple[Any, ...]] = []
    uniques: list[tuple[Any, ...]] = []
    for schema, recs in new.sealed:
        ext_store.new_owner_rows(tenant, LEVEL, schema, [(cid, recs)], records, uniques)
    entries: list[tuple[Any, ...]] = []
    for key, values in keys.of(new.attrs, new.plain_records()):
        entries += ident_store.entry_rows(tenant, key, [(v, cid) for v in values])
    return BatchRows(jsonio.dumps_str(new.stored), records, uniques, entries)


async def _insert_batch(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, sealer: Sealer, profiles: Sequence[NewProfile],
    *, last: bool,
) -> None:
    """Every row of a batch of new profiles in one statement; any clash is one AlreadyExists for the batch."""
    records: list[tuple[Any, ...]] = []
    uniques: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    dumped = []
    keys = index.NewEntries(schemas, sealer.cipher)
    for p in profiles:
        built = p.rows or batch_rows(tenant, keys, p)
        dumped.append((p.customer_id, built.data))
        records += built.records
        uniques += built.uniques
        entries += built.entries
    rows = {profile.name: profile_store.dumped_profile_rows(tenant, dumped),
            extension_record.name: records, extension_unique.name: uniques, ident_entry.name: entries}
    await sealer.commit(conn)  # first: the inserts may be the transaction's last statement
    try:
        await _INSERT_ALL.run(conn, rows, last=last)
    except sa_exc.IntegrityError as err:
        if as_unique_violation(err) is None:
            raise
        raise AlreadyExists("a profile of this batch has the id, unique extension values or unique key values "
                            "of another customer") from err
