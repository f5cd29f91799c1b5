"""In-process cache of each tenant's schemas, rebuilt from the database when the schema generation moves.

The cache holds at most `schema_cache_tenants` tenants, dropping the least recently used first: a caller
bound to no tenant can name any of 2^31 tenant ids. Tenants without stored schema documents (most ids such
a caller names) share one copy of the built-in schemas instead of a copy each.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucs_graphql.config import Settings
from ucs_graphql.metadata import store
from ucs_graphql.metadata.defaults import predefined_profile_attributes
from ucs_graphql.metadata.model import (
    AttributeSchema,
    ExtensionSchema,
    IdentificationKey,
    parse_attribute,
    parse_extension_schema,
)

if TYPE_CHECKING:
    from ucs_graphql.db.engine import Database


@dataclass
class TenantSchemas:
    """One tenant's schemas: profile attributes, extension schemas per level, identification keys."""

    profile_attributes: dict[str, AttributeSchema] = field(default_factory=dict)
    stored_profile_attributes: set[str] = field(default_factory=set)
    extensions: dict[str, dict[str, ExtensionSchema]] = field(
        default_factory=lambda: {"profile": {}, "service": {}, "state": {}, "task": {}}
    )
    keys: list[IdentificationKey] = field(default_factory=list)

    def extension(self, level: str, name: str) -> ExtensionSchema | None:
        """The extension schema of `level` called `name` (case-insensitive), or None."""
        return self.extensions[level].get(name.lower())

    def profile_attribute(self, name: str) -> AttributeSchema | None:
        """The profile attribute called `name` (case-insensitive), or None."""
        return self.profile_attributes.get(name.lower())

    def key(self, name: str) -> IdentificationKey | None:
        """The identification key called `name` (case-insensitive), or None."""
        low = name.lower()
        return next((k for k in self.keys if k.key == low), None)


def build_tenant(settings: Settings, docs: dict[str, list]) -> TenantSchemas:
    """Assemble a tenant's schemas from built-ins, the configuration file and stored documents."""
    ts = TenantSchemas()
    for attr in predefined_profile_attributes(settings.media_types):
        ts.profile_attributes[attr.key] = attr
    for doc in settings.profile_attributes:
        attr = parse_attribute(doc, "profile_attributes", profile=True)
        ts.profile_attributes[attr.key] = attr
    for doc in docs["profile_attributes"]:
        attr = parse_attribute(doc, profile=True)
        ts.profile_attributes[attr.key] = attr
        ts.stored_profile_attributes.add(attr.key)
    for level, doc in docs["extensions"]:
        schema = parse_extension_schema(doc, level)
        ts.extensions[level][schema.key] = schema
    for seq, doc in docs["keys"]:
        ts.keys.append(IdentificationKey(
            name=doc["name"], source=doc.get("source", "profile"), attributes=tuple(doc["attributes"]),
            unique=bool(doc.get("unique", False)), normalize=doc.get("normalize"), seq=seq))
    return ts


def _empty(docs: dict[str, list]) -> bool:
    return not any(docs.values())


class SchemaCache:
    """Tenant schemas cached per process, least recently used dropped first; `generation` follows
    server_state.schema_generation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.capacity = settings.schema_cache_tenants
        self._tenants: OrderedDict[int, TenantSchemas] = OrderedDict()
        self._lock = asyncio.Lock()
        self._builtin: TenantSchemas | None = None
        self.generation = 0

    def __len__(self) -> int:
        return len(self._tenants)

    def built(self) -> int:
        """How many distinct schema sets the cache holds (tenants without stored documents share one)."""
        return len({id(ts) for ts in self._tenants.values()})

    async def get(self, db: Database, tenant: int) -> TenantSchemas:
        """The tenant's schemas, loading them on first use.

        Schemas loaded while the generation moved (a change committed meanwhile, whose invalidation came
        during the load) serve the request that loaded them but are not kept: kept, they would outlive the
        invalidation that was meant to drop them."""
        got = self._tenants.get(tenant)
        if got is not None:
            self._tenants.move_to_end(tenant)
            return got
        async with self._lock:
            got = self._tenants.get(tenant)
            if got is None:
                generation = self.generation
                async with db.read() as conn:
                    docs = await store.load_documents(conn, tenant)
                if _empty(docs):
                    if self._builtin is None:
                        self._builtin = build_tenant(self.settings, docs)
                    got = self._builtin
                else:
                    got = build_tenant(self.settings, docs)
                if generation == self.generation:
                    self._tenants[tenant] = got
                while len(self._tenants) > self.capacity:
                    self._tenants.popitem(last=False)
        return got

    def invalidate(self, tenant: int | None = None) -> None:
        """Forget one tenant's schemas (or all); the next request reloads them."""
        if tenant is None:
            self._tenants.clear()
        else:
            self._tenants.pop(tenant, None)
