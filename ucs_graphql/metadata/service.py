"""Use cases of the Schema operations (CV.WS.PROF.META.*, CV.WS.SRV.META.*, CV.WS.META.*, CV.WS.CONFIG.BA)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.crypto import keyring
from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.identification import index
from ucs_graphql.kit.errors import AlreadyExists, BadParameter, MissingParameter, NotFound, StateConflict
from ucs_graphql.metadata import store
from ucs_graphql.metadata.defaults import default_business_attributes
from ucs_graphql.metadata.model import (
    LEVELS,
    AttributeSchema,
    ExtensionSchema,
    IdentificationKey,
    parse_attribute,
    parse_extension_schema,
    parse_identification_key_doc,
)
from ucs_graphql.runtime import Runtime
from ucs_graphql.server import service as server_service
from ucs_graphql.server.service import GENERATION

log = logging.getLogger("ucs.metadata")

SCHEMA_GENERATION = "schema_generation"
# The longest a schema change waits for the other workers to drop the schemas they cached before it (at
# least three polls of the server state, where the database gives no change signal).
APPLIED_SECONDS = 5.0


def _as_list(body: Any, what: str) -> list[Any]:
    if isinstance(body, list):
        if not body:
            raise BadParameter(what, "the array is empty")
        return body
    if isinstance(body, dict):
        return [body]
    raise BadParameter(what, "the body must be a JSON object or an array of objects")


async def _write_schema(ctx: Ctx, work: Any) -> Any:
    """Run a schema change in one transaction, bump the schema generation, refresh this process's cache, and
    answer once every other live worker has dropped the schemas it cached before (so a request to any node
    after the answer sees the change)."""

    async def run(conn: AsyncConnection) -> tuple[Any, int]:
        # Bump first: its row lock serialises concurrent schema changes, so creation sequence numbers
        # never collide and the name's unique constraint alone decides between two creates.
        generation = await store.bump(conn, SCHEMA_GENERATION)
        try:
            result = await work(conn)
        except sa_exc.IntegrityError as err:
            violation = as_unique_violation(err)
            if violation is None:
                raise
            raise AlreadyExists("a schema or key with this name already exists (names are case-insensitive)") from err
        ctx.rt.schemas.generation = generation
        return result, await _bump_state(ctx.rt, conn)

    try:
        result, state = await ctx.db.write(run)
    finally:
        ctx.rt.schemas.invalidate(ctx.tenant)
    await _applied_everywhere(ctx.rt, state)
    return result


async def _bump_state(rt: Runtime, conn: AsyncConnection) -> int:
    """Bump the server state's generation, which each worker acknowledges once it has applied the state read
    with it, the schema generation included, and signal the other processes. Last in the transaction: its row
    lock is held briefly."""
    generation = await store.bump(conn, GENERATION)
    await rt.parts["events"].signal(conn)
    return generation


async def _applied_everywhere(rt: Runtime, state: int) -> None:
    """Wait until every other registered worker has acknowledged generation `state` of the server state; one
    that has not within APPLIED_SECONDS (or three polls) is logged and not waited for."""
    behind = await server_service.wait_for_workers(rt, state, max(APPLIED_SECONDS, 3 * rt.settings.mode_poll_seconds))
    if behind:
        log.warning("workers %s did not apply a schema change in time; they see it once they read the server "
                    "state", ", ".join(behind))


# --- profile attributes (CV.WS.PROF.META.1, and POST /metadata/profiles) ---

async def list_profile_attributes(ctx: Ctx) -> list[dict[str, Any]]:
    """Every profile attribute schema: predefined, configured and added."""
    schemas = await ctx.schemas()
    out = []
    for attr in schemas.profile_attributes.values():
        doc = {"encrypt": attr.encrypt, "name": attr.name, "length": attr.length or 0, "type": attr.type}
        if attr.mandatory:
            doc["mandatory"] = True
        if attr.default is not None:
            doc["default"] = attr.default
        out.append(doc)
    return out


async def add_profile_attributes(ctx: Ctx, body: Any) -> list[str]:
    """Define one or more profile attributes (maintenance mode); returns their names."""
    ctx.require_maintenance("defining profile attributes")
    docs = _as_list(body, "attributes")
    attrs: list[AttributeSchema] = []
    seen: set[str] = set()
    schemas = await ctx.schemas()
    for i, doc in enumerate(docs):
        attr = parse_attribute(doc, f"attributes[{i}]" if len(docs) > 1 else "attribute", profile=True)
        if attr.key in seen or schemas.profile_attribute(attr.name) is not None:
            raise AlreadyExists(f"profile attribute '{attr.name}' already exists")
        seen.add(attr.key)
        attrs.append(attr)

    async def work(conn: AsyncConnection) -> list[str]:
        for attr in attrs:
            await store.insert_profile_attribute(conn, ctx.tenant, attr.name, attr.to_doc())
        return [a.name for a in attrs]

    return await _write_schema(ctx, work)


# --- extension schemas (CV.WS.PROF.META.3/4/5, CV.WS.SRV.META.1..8) ---

def _level(level: str) -> str:
    if level not in LEVELS:
        raise NotFound(f"no extension level '{level}'")
    return level


async def create_extension_schemas(ctx: Ctx, level: str, body: Any) -> list[str]:
    """Create one extension schema or each of an array (allowed in both modes); returns their names."""
    _level(level)
    docs = _as_list(body, "extension schema")
    parsed: list[ExtensionSchema] = []
    seen: set[str] = set()
    for doc in docs:
        schema = parse_extension_schema(doc, level)
        clear = next((a for a in schema.attributes if a.encrypt), None) if level != "profile" else None
        if clear is not None:  # nothing at these levels is sealed: refuse rather than store it in clear
            raise BadParameter(f"{clear.name}.encrypt", f"encryption is offered for profile attributes and profile "
                                                        f"extensions only, not for {level} extensions")
        if schema.key in seen:
            raise AlreadyExists(f"extension '{schema.name}' is given twice")
        seen.add(schema.key)
        parsed.append(schema)
    existing = await ctx.schemas()
    for schema in parsed:
        if existing.extension(level, schema.name) is not None:
            raise AlreadyExists(f"{level} extension '{schema.name}' already exists (names are case-insensitive)")

    async def work(conn: AsyncConnection) -> list[str]:
        for schema in parsed:
            await store.insert_extension_schema(conn, ctx.tenant, level, schema.name, schema.to_doc())
        return [s.name for s in parsed]

    return await _write_schema(ctx, work)


async def list_extension_schemas(ctx: Ctx, level: str) -> list[dict[str, Any]]:
    """Every extension schema of a level, in creation order."""
    schemas = await ctx.schemas()
    return [s.to_doc() for s in schemas.extensions[_level(level)].values()]


async def get_extension_schema(ctx: Ctx, level: str, name: str) -> dict[str, Any]:
    """One extension schema by case-insensitive name (404 when absent)."""
    schemas = await ctx.schemas()
    schema = schemas.extension(_level(level), name)
    if schema is None:
        raise NotFound(f"{level} extension '{name}' does not exist")
    return schema.to_doc()


async def delete_extension_schema(ctx: Ctx, level: str, name: str) -> None:
    """Delete an extension schema and its records (maintenance mode); refused while a key uses it."""
    ctx.require_maintenance(f"deleting a {level} extension schema")
    schemas = await ctx.schemas()
    schema = schemas.extension(_level(level), name)
    if schema is None:
        raise NotFound(f"{level} extension '{name}' does not exist")
    if level == "profile":
        users = [k.name for k in schemas.keys if not k.on_profile and k.source.lower() == schema.key]
        if users:
            raise StateConflict(
                f"profile extension '{schema.name}' is used by identification key '{users[0]}': delete the key first"
            )

    async def work(conn: AsyncConnection) -> None:
        if not await store.delete_extension_schema(conn, ctx.tenant, level, schema.name):
            raise NotFound(f"{level} extension '{name}' does not exist")
        await ext_store.drop_extension(conn, ctx.tenant, level, schema.key)

    await _write_schema(ctx, work)


# --- identification keys (CV.WS.PROF.META.6/7/8) ---

async def create_identification_key(ctx: Ctx, body: Any) -> str:
    """Create an identification key (maintenance mode) and index existing customers under it."""
    ctx.require_maintenance("creating an identification key")
    name, source, attrs, unique, normalize = parse_identification_key_doc(body)
    schemas = await ctx.schemas()
    if schemas.key(name) is not None:
        raise AlreadyExists(f"identification key '{name}' already exists (names are case-insensitive)")
    resolved: list[str] = []
    if source.lower() == "profile":
        source = "profile"
        for a in attrs:
            attr = schemas.profile_attribute(a)
            if attr is None:
                raise BadParameter("attributes", f"'{a}' is not a profile attribute")
            resolved.append(attr.name)
    else:
        ext = schemas.extension("profile", source)
        if ext is None:
            raise BadParameter("source", f"'{source}' is neither 'profile' nor a profile extension")
        if ext.type == "classifier":
            raise BadParameter("source", f"classifier extension '{ext.name}' has no attributes to identify by")
        source = ext.name
        for a in attrs:
            if "." in a:
                prefix, _, bare = a.partition(".")
                if prefix.lower() == ext.key:
                    a = bare
                else:
                    raise BadParameter("attributes", "a key cannot blend profile and extension attributes")
            attr = ext.attribute(a)
            if attr is None:
                raise BadParameter("attributes", f"'{a}' is not an attribute of extension '{ext.name}'")
            resolved.append(attr.name)
    if len({r.lower() for r in resolved}) != len(resolved):
        raise BadParameter("attributes", "an attribute is listed twice")
    key = IdentificationKey(name=name, source=source, attributes=tuple(resolved), unique=unique,
                            normalize=normalize)

    async def work(conn: AsyncConnection) -> str:
        seq = await store.insert_identification_key(conn, ctx.tenant, name, key.stored_doc())
        stored = IdentificationKey(key.name, key.source, key.attributes, key.unique, key.normalize, seq)
        await index.build_key(conn, ctx.tenant, stored, schemas, keyring.cipher_of(ctx.rt))
        return name

    return await _write_schema(ctx, work)


async def list_identification_keys(ctx: Ctx) -> list[dict[str, Any]]:
    """Every identification key, in creation order."""
    schemas = await ctx.schemas()
    return [k.to_doc() for k in schemas.keys]


async def get_identification_key(ctx: Ctx, name: str) -> dict[str, Any]:
    """One identification key by case-insensitive name."""
    schemas = await ctx.schemas()
    key = schemas.key(name)
    if key is None:
        raise NotFound(f"identification key '{name}' does not exist")
    return key.to_doc()


async def delete_identification_key(ctx: Ctx, name: str) -> None:
    """Delete an identification key and its index (maintenance mode)."""
    ctx.require_maintenance("deleting an identification key")
    schemas = await ctx.schemas()
    key = schemas.key(name)
    if key is None:
        raise NotFound(f"identification key '{name}' does not exist")

    async def work(conn: AsyncConnection) -> None:
        if not await store.delete_identification_key(conn, ctx.tenant, name):
            raise NotFound(f"identification key '{name}' does not exist")
        await index.drop_key(conn, ctx.tenant, key)

    await _write_schema(ctx, work)


# --- business attributes (CV.WS.CONFIG.BA), roles (CV.WS.SRV.META.x), index, cache ---

def business_attributes_all(ctx: Ctx) -> list[dict[str, Any]]:
    """The configured business attributes, or the default set."""
    configured = [dict(b) for b in ctx.settings.business_attributes]
    return configured or default_business_attributes(ctx.settings.media_types)


async def query_business_attributes(
    ctx: Ctx, name: str | None = None, cv_attribute: str | None = None
) -> dict[str, Any] | list[dict[str, Any]]:
    """All business attributes, one by name, or the one mapped to a Context Services attribute."""
    items = business_attributes_all(ctx)
    if name is not None:
        for ba in items:
            if ba["name"].lower() == name.lower():
                return ba
        raise NotFound(f"business attribute '{name}' does not exist")
    if cv_attribute is not None:
        if not cv_attribute:
            raise MissingParameter("cv-attribute")
        for ba in items:
            if any(c.lower() == cv_attribute.lower() for c in ba.get("cv_attributes", [])):
                return ba
        raise NotFound(f"no business attribute is mapped to '{cv_attribute}'")
    return items


async def query_roles(ctx: Ctx) -> list[dict[str, Any]]:
    """The configured roles in the reference's shape (role_name, role_DBID, role_enabled, tasks)."""
    out = []
    for i, role in enumerate(ctx.settings.roles):
        tasks = role.get("tasks", [])
        out.append({
            "role_DBID": role.get("dbid", 100 + i),
            "role_enabled": bool(role.get("enabled", True)),
            "tasks": [{"capableOf": True, "name": t} for t in tasks],
            "role_name": role.get("name", f"role{i}"),
        })
    return out


METADATA_RESOURCES = [
    ("profile schema", "/metadata/profiles"),
    ("Profiles Extensions", "/metadata/profiles/extensions"),
    ("identification-keys schemas", "/metadata/identification-keys"),
    ("Tasks Extensions", "/metadata/tasks/extensions"),
    ("States Extensions", "/metadata/states/extensions"),
    ("Services Extensions", "/metadata/services/extensions"),
    ("business-attributes mapping", "/metadata/business-attributes"),
    ("roles", "/metadata/roles"),
]


def metadata_index(base_url: str) -> dict[str, str]:
    """The metadata resources with their absolute locations (CV.WS.META.1)."""
    return {name: base_url + path for name, path in METADATA_RESOURCES}


async def reload_cache(ctx: Ctx) -> None:
    """Reload schema caches from the database, in this process and (via the generation) in every worker; answers
    once every live worker has dropped its cache."""

    async def work(conn: AsyncConnection) -> int:
        ctx.rt.schemas.generation = await store.bump(conn, SCHEMA_GENERATION)
        return await _bump_state(ctx.rt, conn)

    state = await ctx.db.write(work)
    ctx.rt.schemas.invalidate()
    await _applied_everywhere(ctx.rt, state)
