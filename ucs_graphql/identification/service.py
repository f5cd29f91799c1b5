"""Use case of Identify Customer (CV.WS.CUSTID.1): choose a key, one indexed lookup, then the profiles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ucs_graphql.context import Ctx
from ucs_graphql.crypto import keyring
from ucs_graphql.identification import store
from ucs_graphql.identification.choice import choose_key, covered_prefix, key_terms
from ucs_graphql.identification.values import combinations, component, join, prefix
from ucs_graphql.kit.errors import BadParameter, MissingParameter, NotFound
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import AttributeSchema, IdentificationKey
from ucs_graphql.profiles import reading

OPTIONS = ("id_key", "include_profile", "extensions", "include_extensions")
# The reference's example spells include_* as exclude_*, with the include_* meaning.
ALIASES = {"exclude_profile": "include_profile", "exclude_extensions": "include_extensions"}


def _resolve(schemas: TenantSchemas, name: str) -> tuple[str, AttributeSchema]:
    """The query term (`attr` or `ext.attr`, lower case) and schema of a query parameter."""
    if "." in name:
        ext_name, _, attr_name = name.partition(".")
        schema = schemas.extension("profile", ext_name)
        if schema is None:
            raise BadParameter(name, f"'{ext_name}' is not a profile extension")
        attr = schema.attribute(attr_name)
        if attr is None:
            raise BadParameter(name, f"'{attr_name}' is not an attribute of extension '{schema.name}'")
        return f"{schema.key}.{attr.key}", attr
    profile_attr = schemas.profile_attribute(name)
    if profile_attr is None:
        raise BadParameter(name, f"'{name}' is not a profile attribute (prefix extension attributes: ext.attr)")
    return profile_attr.key, profile_attr


def attribute_values(doc: Any) -> dict[str, list[str]]:
    """Query attributes given as a JSON object: name -> a string or an array of strings."""
    if not isinstance(doc, dict):
        raise BadParameter("attributes", "give an object of attribute name -> value(s)")
    out: dict[str, list[str]] = {}
    for name, raw in doc.items():
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
            raise BadParameter(name, "a value to identify by is a string (or an array of them)")
        out[name] = [str(v) for v in values]
    return out


def _yes_no(param: str, raw: str | None) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() in ("yes", "true"):
        return True
    if raw.lower() in ("no", "false"):
        return False
    raise BadParameter(param, f"'{raw}' is not yes or no")


async def identify(
    ctx: Ctx, attributes: Mapping[str, Sequence[str]], *, id_key: str | None = None, include_profile: bool = False,
    extensions: Sequence[str] | str | None = None, unique_only: bool = False,
) -> list[dict[str, Any]]:
    """Customers whose identification entries match the given attribute values (documents, by id)."""
    ctx.require_production("identifying a customer")
    schemas = await ctx.schemas()
    wanted = reading.wanted_extensions(schemas, extensions)
    given: dict[str, tuple[AttributeSchema, list[str]]] = {}
    for name, values in attributes.items():
        term, attr = _resolve(schemas, name)
        given.setdefault(term, (attr, []))[1].extend(values)
    key, covered = _pick_key(schemas, id_key, given)
    cipher = keyring.cipher_of(ctx.rt)
    per_attr = []
    for term in key_terms(key)[:covered]:
        attr, raw = given[term]
        per_attr.append(sorted({component(attr, attr.coerce(term, v), key.normalize, cipher) for v in raw}))
    combos = combinations(per_attr)
    async with ctx.db.read(quick=True) as conn:
        if covered == len(key.attributes):
            found = await store.lookup(conn, ctx.tenant, key.key, [join(c) for c in combos])
        else:
            found = await store.lookup_prefix(conn, ctx.tenant, key.key, [prefix(c) for c in combos])
        if unique_only and len(found) != 1:
            wanted = []
        if not include_profile and not wanted:
            return [{"customer_id": cid} for cid in found]
        return await reading.read_profiles(conn, ctx.tenant, schemas, cipher, found, attributes=include_profile,
                                           wanted=wanted)


def _pick_key(
    schemas: TenantSchemas, id_key: str | None, given: Mapping[str, object]
) -> tuple[IdentificationKey, int]:
    if id_key:
        key = schemas.key(id_key)
        if key is None:
            raise NotFound(f"identification key '{id_key}' does not exist")
        covered = covered_prefix(key, given)
        if covered == 0:
            first = key.attributes[0] if key.on_profile else f"{key.source}.{key.attributes[0]}"
            raise MissingParameter(first, f"identification key '{key.name}' needs '{first}'")
        return key, covered
    if not given:
        raise MissingParameter("attributes", "give the attribute values to identify the customer by")
    chosen = choose_key(schemas.keys, given)
    if chosen is None:
        raise BadParameter("id_key", "no identification key starts with the attributes given: "
                           + ", ".join(sorted(given)))
    return chosen


async def identify_query(ctx: Ctx, params: Iterable[tuple[str, str]]) -> Any:
    """Identify from URL query parameters; one match is an object, several an array, none []."""
    options: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in params:
        option = ALIASES.get(name.lower(), name.lower())
        if option in OPTIONS:
            options[option] = value
        else:
            attributes.setdefault(name, []).append(value)
    mode = (options.get("include_extensions") or "always").lower()
    if mode not in ("always", "unique"):
        raise BadParameter("include_extensions", f"'{mode}' is not always or unique")
    found = await identify(
        ctx, attributes, id_key=options.get("id_key") or None,
        include_profile=_yes_no("include_profile", options.get("include_profile")),
        extensions=options.get("extensions"), unique_only=mode == "unique")
    return found[0] if len(found) == 1 else found
