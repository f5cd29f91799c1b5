"""Sealing and opening the encrypted attributes of profile attribute maps and extension records.

Only attributes the schema marks encrypted are sealed and opened: a value of any other attribute is stored and
returned as it was given, whatever it looks like. A stored value of an encrypted attribute that cannot be
opened becomes `Unreadable` (carrying its stored form): the read of that value fails, not the others, and a
write that carries it over (a merge) stores it unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ucs_graphql.crypto.cipher import Binding, DecryptError, FieldCipher, sealed_format
from ucs_graphql.kit import jsonio
from ucs_graphql.metadata.model import AttributeSchema, ExtensionSchema

Record = dict[str, Any]
PROFILE = "profile"
log = logging.getLogger("ucs.crypto")


@dataclass(frozen=True)
class Unreadable:
    """A stored value of an encrypted attribute that cannot be decrypted, in its stored form."""

    stored: Any
    reason: str


def profile_binding(tenant: int, attr: AttributeSchema) -> Binding:
    """Where a value of a profile attribute belongs."""
    return Binding(tenant, PROFILE, "", attr.key)


def record_binding(tenant: int, schema: ExtensionSchema, attr: AttributeSchema) -> Binding:
    """Where a value of an extension record's attribute belongs."""
    return Binding(tenant, schema.level, schema.key, attr.key)


def seal_value(cipher: FieldCipher, binding: Binding, value: Any, *, deterministic: bool = False) -> Any:
    """Ciphertext of one value of any JSON type (an Unreadable value keeps its stored form)."""
    if isinstance(value, Unreadable):
        return value.stored
    return cipher.seal(jsonio.dumps_str(value), binding, deterministic=deterministic)


def open_value(cipher: FieldCipher | None, binding: Binding, value: Any) -> Any:
    """The plain value of a stored value of an encrypted attribute, or Unreadable.

    A value that is not ciphertext was stored before the attribute was encrypted and is returned as it is.
    """
    form = sealed_format(value)
    if form is None:
        return value
    if cipher is None:
        return Unreadable(value, "the server has no encryption key")
    if form != 2:
        return Unreadable(value, "the value is in the first encrypted format and was not upgraded "
                                 "(run ucs-graphql reencrypt)")
    try:
        return jsonio.loads(cipher.open(value, binding))
    except DecryptError as err:
        return Unreadable(value, str(err))
    except ValueError:
        return Unreadable(value, "the decrypted value is not JSON")


def encrypted(attrs: Mapping[str, AttributeSchema] | ExtensionSchema) -> bool:
    """Whether any attribute of a profile attribute map or extension schema is encrypted."""
    values = attrs.attributes if isinstance(attrs, ExtensionSchema) else attrs.values()
    return any(a.encrypt for a in values)


def seal_record(schema: ExtensionSchema, cipher: FieldCipher, tenant: int, record: Record) -> Record:
    """A record with its encrypted attributes sealed; unique attributes deterministically (the database
    compares them)."""
    unique = {n.lower() for n in schema.unique_attributes}
    out = dict(record)
    for attr in schema.attributes:
        if attr.encrypt and out.get(attr.name) is not None:
            out[attr.name] = seal_value(cipher, record_binding(tenant, schema, attr), out[attr.name],
                                        deterministic=attr.key in unique)
    return out


def open_record(schema: ExtensionSchema, cipher: FieldCipher | None, tenant: int, record: Record) -> Record:
    """A stored record with its encrypted attributes opened (Unreadable where that fails)."""
    if not encrypted(schema):
        return record
    out = dict(record)
    for attr in schema.attributes:
        if attr.encrypt and out.get(attr.name) is not None:
            out[attr.name] = open_value(cipher, record_binding(tenant, schema, attr), out[attr.name])
    return out


def seal_profile(
    attrs: Mapping[str, AttributeSchema], cipher: FieldCipher, tenant: int, data: Mapping[str, list[Any]]
) -> dict[str, list[Any]]:
    """Profile attribute values with the encrypted attributes sealed (random nonces)."""
    return _map_encrypted(attrs, tenant, data, lambda binding, v: seal_value(cipher, binding, v))


def open_profile(
    attrs: Mapping[str, AttributeSchema], cipher: FieldCipher | None, tenant: int, data: Mapping[str, list[Any]]
) -> dict[str, list[Any]]:
    """Stored profile attribute values with the encrypted attributes opened (Unreadable where that fails)."""
    return _map_encrypted(attrs, tenant, data, lambda binding, v: open_value(cipher, binding, v))


def _map_encrypted(
    attrs: Mapping[str, AttributeSchema], tenant: int, data: Mapping[str, list[Any]],
    change: Callable[[Any, Any], Any],
) -> dict[str, list[Any]]:
    """Profile attribute values with `change(binding, value)` applied to those of encrypted attributes."""
    out: dict[str, list[Any]] = {}
    for name, values in data.items():
        attr = attrs.get(name.lower())
        if attr is not None and attr.encrypt:
            binding = profile_binding(tenant, attr)
            out[name] = [change(binding, v) for v in values]
        else:
            out[name] = list(values)
    return out


def unreadable_names(data: Mapping[str, Any]) -> list[str]:
    """Names of the attributes of a profile attribute map ({name: [values]}) or record ({name: value}) with an
    Unreadable value."""
    out = []
    for name, value in data.items():
        values: Iterable[Any] = value if isinstance(value, list) else (value,)
        if any(isinstance(v, Unreadable) for v in values):
            out.append(name)
    return out


def report_unreadable(tenant: int, customer_id: str, where: str, data: Mapping[str, Any]) -> list[str]:
    """Log (never the value) each unreadable attribute of a customer's attributes or record; returns their names."""
    names = unreadable_names(data)
    for name in names:
        values = data[name] if isinstance(data[name], list) else [data[name]]
        reason = next(v.reason for v in values if isinstance(v, Unreadable))
        log.error("tenant %d customer %r: the stored value of encrypted attribute %s%s cannot be decrypted: %s",
                  tenant, customer_id, where, name, reason)
    return names
