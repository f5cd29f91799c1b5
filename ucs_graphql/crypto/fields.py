"""Sealing and opening the encrypted attributes of profile attribute maps and extension records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ucs_graphql.crypto.cipher import FieldCipher, is_sealed
from ucs_graphql.kit import jsonio
from ucs_graphql.metadata.model import AttributeSchema, ExtensionSchema

Record = dict[str, Any]


def seal_value(cipher: FieldCipher, value: Any, *, deterministic: bool = False) -> str:
    """Ciphertext of one value of any JSON type."""
    return cipher.seal(jsonio.dumps_str(value), deterministic=deterministic)


def open_value(cipher: FieldCipher | None, value: Any) -> Any:
    """The plain value of a stored value (values that are not ciphertext are returned as they are)."""
    if cipher is None or not is_sealed(value):
        return value
    return jsonio.loads(cipher.open(value))


def encrypted(attrs: Mapping[str, AttributeSchema] | ExtensionSchema) -> bool:
    """Whether any attribute of a profile attribute map or extension schema is encrypted."""
    values = attrs.attributes if isinstance(attrs, ExtensionSchema) else attrs.values()
    return any(a.encrypt for a in values)


def seal_record(schema: ExtensionSchema, cipher: FieldCipher, record: Record) -> Record:
    """A record with its encrypted attributes sealed; unique attributes deterministically (the database
    compares them)."""
    unique = {n.lower() for n in schema.unique_attributes}
    out = dict(record)
    for attr in schema.attributes:
        if attr.encrypt and out.get(attr.name) is not None:
            out[attr.name] = seal_value(cipher, out[attr.name], deterministic=attr.key in unique)
    return out


def open_record(schema: ExtensionSchema, cipher: FieldCipher | None, record: Record) -> Record:
    """A stored record with its encrypted attributes opened."""
    if cipher is None or not encrypted(schema):
        return record
    return {k: open_value(cipher, v) for k, v in record.items()}


def seal_profile(
    attrs: Mapping[str, AttributeSchema], cipher: FieldCipher, data: Mapping[str, list[Any]]
) -> dict[str, list[Any]]:
    """Profile attribute values with the encrypted attributes sealed (random nonces)."""
    out: dict[str, list[Any]] = {}
    for name, values in data.items():
        attr = attrs.get(name.lower())
        out[name] = [seal_value(cipher, v) for v in values] if attr is not None and attr.encrypt else list(values)
    return out


def open_profile(cipher: FieldCipher | None, data: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """Stored profile attribute values with ciphertext opened."""
    if cipher is None:
        return {k: list(v) for k, v in data.items()}
    return {k: [open_value(cipher, v) for v in values] for k, values in data.items()}
