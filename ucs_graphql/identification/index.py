"""Identification index maintenance, called inside the writing transaction.

Every write that changes values a key covers recomputes the customer's entries under that key from the
plain values (before sealing) and replaces them; a unique key is enforced by ident_entry's primary key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import Unreadable, open_profile, open_record, report_unreadable
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import store
from ucs_graphql.identification.values import combinations, component, join
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import AttributeSchema, ExtensionSchema, IdentificationKey
from ucs_graphql.profiles import store as profile_store

Data = Mapping[str, list[Any]]
Records = Mapping[str, list[dict[str, Any]]]


def profile_entries(key: IdentificationKey, schemas: TenantSchemas, cipher: FieldCipher | None,
                    attrs: Data) -> set[str]:
    """Index values of a profile key for plain attribute values (every combination of multi-values)."""
    return _profile_entries(key, _key_attributes(key, schemas), cipher, attrs)


def _key_attributes(key: IdentificationKey, schemas: TenantSchemas) -> list[AttributeSchema | None]:
    """The profile attributes a profile key covers (None for a name that is not one)."""
    return [schemas.profile_attribute(name) for name in key.attributes]


def _profile_entries(key: IdentificationKey, covered: Sequence[AttributeSchema | None], cipher: FieldCipher | None,
                     attrs: Data) -> set[str]:
    per_attr: list[list[str]] = []
    for attr in covered:
        values = attrs.get(attr.name) if attr is not None else None
        if values:  # a value that cannot be decrypted has no entry
            values = [v for v in values if not isinstance(v, Unreadable)]
        if attr is None or not values:
            return set()
        if len(covered) == 1:  # one attribute: each value is an entry
            return {join((component(attr, v, key.normalize, cipher),)) for v in values}
        per_attr.append(sorted({component(attr, v, key.normalize, cipher) for v in values}))
    return {join(c) for c in combinations(per_attr)}


def extension_entries(key: IdentificationKey, schema: ExtensionSchema, cipher: FieldCipher | None,
                      records: Sequence[dict[str, Any]]) -> set[str]:
    """Index values of an extension key for plain records (one per record that has every key attribute)."""
    out: set[str] = set()
    for rec in records:
        parts = []
        for name in key.attributes:
            attr = schema.attribute(name)
            value = rec.get(attr.name) if attr is not None else None
            if attr is None or value is None or isinstance(value, Unreadable):
                break
            parts.append(component(attr, value, key.normalize, cipher))
        else:
            out.add(join(parts))
    return out


def key_entries(key: IdentificationKey, schemas: TenantSchemas, cipher: FieldCipher | None,
                attrs: Data | None, records: Records) -> set[str]:
    """Index values of any key for a customer's plain attributes or records (lower-case extension names)."""
    if key.on_profile:
        return profile_entries(key, schemas, cipher, attrs or {})
    schema = schemas.extension("profile", key.source)
    if schema is None:
        return set()
    return extension_entries(key, schema, cipher, records.get(schema.key, []))


def profile_keys(schemas: TenantSchemas) -> list[IdentificationKey]:
    """The keys over profile attributes."""
    return [k for k in schemas.keys if k.on_profile]


def extension_keys(schemas: TenantSchemas, ext_names: Sequence[str]) -> list[IdentificationKey]:
    """The keys over any of these profile extensions."""
    names = {n.lower() for n in ext_names}
    return [k for k in schemas.keys if not k.on_profile and k.source.lower() in names]


async def reindex(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None, customer_id: str,
    keys: Sequence[IdentificationKey], *, attrs: Data | None = None, records: Records | None = None,
    fresh: bool = False,
) -> None:
    """Replace a customer's entries under `keys` with those of its plain values (`fresh`: it had none)."""
    if not keys:
        return
    if not fresh:
        await store.delete_customer_entries(conn, tenant, [customer_id], [k.key for k in keys])
    for key in keys:
        values = key_entries(key, schemas, cipher, attrs, records or {})
        if values:
            await store.insert_entries(conn, tenant, key, [(v, customer_id) for v in sorted(values)])


class NewEntries:
    """Index values of customers being created, one customer at a time (a bulk import asks for every record),
    with each key's attributes looked up once."""

    def __init__(self, schemas: TenantSchemas, cipher: FieldCipher | None) -> None:
        self.schemas = schemas
        self.cipher = cipher
        self.keys = [(key, _key_attributes(key, schemas) if key.on_profile else None) for key in schemas.keys]

    def of(self, attrs: Data, records: Records) -> list[tuple[IdentificationKey, list[str]]]:
        """(key, sorted values) for every key that covers these plain attributes or records."""
        out = []
        for key, covered in self.keys:
            values = (_profile_entries(key, covered, self.cipher, attrs) if covered is not None
                      else key_entries(key, self.schemas, self.cipher, attrs, records))
            if values:
                out.append((key, sorted(values)))
        return out


def new_entries(
    schemas: TenantSchemas, cipher: FieldCipher | None, customers: Sequence[tuple[str, Data, Records]],
) -> list[tuple[IdentificationKey, list[tuple[str, str]]]]:
    """(value, customer) entries of customers being created (plain attributes and records), by key."""
    entries = NewEntries(schemas, cipher)
    pairs: dict[str, list[tuple[str, str]]] = {key.key: [] for key, _ in entries.keys}
    for cid, attrs, records in customers:
        for key, values in entries.of(attrs, records):
            pairs[key.key] += [(v, cid) for v in values]
    return [(key, pairs[key.key]) for key, _ in entries.keys if pairs[key.key]]


async def index_new(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None,
    customers: Sequence[tuple[str, Data, Records]],
) -> None:
    """Entries of customers being created (plain attributes and records) under every key: one statement per key."""
    for key, pairs in new_entries(schemas, cipher, customers):
        await store.insert_entries(conn, tenant, key, pairs)


async def forget(conn: AsyncConnection, tenant: int, customer_ids: Sequence[str]) -> None:
    """Remove every entry of these customers (they are being deleted)."""
    await store.delete_customer_entries(conn, tenant, customer_ids)


async def build_key(conn: AsyncConnection, tenant: int, key: IdentificationKey, schemas: TenantSchemas,
                    cipher: FieldCipher | None = None) -> None:
    """Index every existing customer under a newly created key (refusing duplicates of a unique key)."""
    schema = None if key.on_profile else schemas.extension("profile", key.source)
    async for page in profile_store.pages(conn, tenant):
        pairs: list[tuple[str, str]] = []
        if schema is None:
            for cid, data in page.items():
                attrs = open_profile(schemas.profile_attributes, cipher, tenant, data)
                report_unreadable(tenant, cid, "", attrs)
                pairs += [(v, cid) for v in profile_entries(key, schemas, cipher, attrs)]
        else:
            loaded = await ext_store.load(conn, tenant, "profile", list(page), [schema.key])
            for cid, by_ext in loaded.items():
                recs = [open_record(schema, cipher, tenant, r) for r in by_ext.get(schema.key, [])]
                for rec in recs:
                    report_unreadable(tenant, cid, f"{schema.name}.", rec)
                pairs += [(v, cid) for v in extension_entries(key, schema, cipher, recs)]
        await store.insert_entries(conn, tenant, key, pairs)


async def drop_key(conn: AsyncConnection, tenant: int, key: IdentificationKey) -> None:
    """Remove every index entry of a deleted key."""
    await store.drop_key(conn, tenant, key.key)
