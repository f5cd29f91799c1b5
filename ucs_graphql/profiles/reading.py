"""Reading profiles for the wire: attributes and extensions of many customers, one statement each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import encrypted, open_profile, open_record, report_unreadable
from ucs_graphql.extensions import store as ext_store
from ucs_graphql.kit.errors import NotFound, UnreadableValue
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import ExtensionSchema
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.model import Record, render_attributes, render_extension


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


def _unreadable(customer_id: str, names: Sequence[str]) -> UnreadableValue:
    listed = ", ".join(f"'{n}'" for n in names)
    return UnreadableValue(f"customer '{customer_id}': the stored value of encrypted attribute {listed} cannot be "
                           "decrypted; the server log has the reason")


async def load_attributes(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None,
    customer_ids: Sequence[str],
) -> dict[str, dict[str, Any] | UnreadableValue]:
    """Rendered attributes of the customers that exist; UnreadableValue for a customer with a stored value of an
    encrypted attribute that cannot be decrypted (logged), so that only the reads of that customer fail."""
    return rendered_attributes(tenant, schemas, cipher, await profile_store.load(conn, tenant, customer_ids))


def rendered_attributes(
    tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None, stored: Mapping[str, Any]
) -> dict[str, dict[str, Any] | UnreadableValue]:
    """`load_attributes` of the stored data of customers (customer id → the profile's decoded data)."""
    out: dict[str, dict[str, Any] | UnreadableValue] = {}
    if not encrypted(schemas.profile_attributes):
        return {cid: render_attributes(data) for cid, data in stored.items()}
    for cid, data in stored.items():
        plain = open_profile(schemas.profile_attributes, cipher, tenant, data)
        bad = report_unreadable(tenant, cid, "", plain)
        out[cid] = _unreadable(cid, bad) if bad else render_attributes(plain)
    return out


def _render(tenant: int, cid: str, schema: ExtensionSchema, cipher: FieldCipher | None,
            records: list[Record]) -> Any:
    if not encrypted(schema):
        return render_extension(schema, records)
    opened = [open_record(schema, cipher, tenant, r) for r in records]
    bad = [f"{schema.name}.{n}" for rec in opened for n in report_unreadable(tenant, cid, f"{schema.name}.", rec)]
    return _unreadable(cid, sorted(set(bad))) if bad else render_extension(schema, opened)


async def load_extensions(
    conn: AsyncConnection, tenant: int, cipher: FieldCipher | None, customer_ids: Sequence[str],
    wanted: Sequence[ExtensionSchema],
) -> dict[str, dict[str, Any]]:
    """Rendered extensions (name -> object/array/null) of each customer; UnreadableValue in place of an
    extension with a stored value that cannot be decrypted."""
    if not wanted or not customer_ids:
        return {cid: {s.name: render_extension(s, []) for s in wanted} for cid in customer_ids}
    loaded = await ext_store.load(conn, tenant, "profile", customer_ids, [s.key for s in wanted])
    return {cid: {s.name: _render(tenant, cid, s, cipher, loaded[cid].get(s.key, [])) for s in wanted}
            for cid in customer_ids}


def readable(customer_id: str, rendered: Mapping[str, Any]) -> dict[str, Any]:
    """Rendered values with nothing unreadable (the first UnreadableValue is raised)."""
    for value in rendered.values():
        if isinstance(value, UnreadableValue):
            raise value
    return dict(rendered)


async def read_profiles(
    conn: AsyncConnection, tenant: int, schemas: TenantSchemas, cipher: FieldCipher | None,
    customer_ids: Sequence[str], *, attributes: bool, wanted: Sequence[ExtensionSchema],
) -> list[dict[str, Any]]:
    """Customer Profile documents in the order asked: customer_id, attributes (when asked), extensions.
    A document that would hold a value that cannot be decrypted is UnreadableValue (500, code 5001)."""
    attrs = await load_attributes(conn, tenant, schemas, cipher, customer_ids) if attributes else {}
    exts = await load_extensions(conn, tenant, cipher, customer_ids, wanted) if wanted else {}
    out = []
    for cid in customer_ids:
        if attributes and cid not in attrs:
            continue
        got = attrs.get(cid, {})
        if isinstance(got, UnreadableValue):
            raise got
        out.append({"customer_id": cid, **got, **readable(cid, exts.get(cid, {}))})
    return out
