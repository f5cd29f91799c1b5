"""Validation of extension records against their schema (shared by profiles, services, states, tasks)."""

from __future__ import annotations

from typing import Any

from ucs_graphql.kit.errors import BadParameter, MissingParameter
from ucs_graphql.kit.names import check_reserved
from ucs_graphql.metadata.model import ExtensionSchema


def validate_record(
    schema: ExtensionSchema,
    record: Any,
    *,
    check_reserved_values: bool,
    partial: bool = False,
) -> dict[str, Any]:
    """Check one record and return it normalised, keyed by the schema's attribute names.

    Unknown attributes and wrong types are 400s naming `extension.attribute`; with `partial` (an update of
    some attributes) mandatory attributes may be absent and defaults are not applied.
    """
    if not isinstance(record, dict):
        raise BadParameter(schema.name, "an extension record must be a JSON object")
    out: dict[str, Any] = {}
    for raw_name, value in record.items():
        attr = schema.attribute(raw_name)
        if attr is None:
            raise BadParameter(f"{schema.name}.{raw_name}", f"'{raw_name}' is not an attribute of '{schema.name}'")
        param = f"{schema.name}.{attr.name}"
        if value is None:
            if attr.mandatory and not partial:
                raise MissingParameter(param)
            continue
        coerced = attr.coerce(param, value)
        if check_reserved_values and isinstance(coerced, str) and attr.type == "string":
            check_reserved(param, coerced)
        out[attr.name] = coerced
    if not partial:
        for attr in schema.attributes:
            if attr.name in out:
                continue
            if attr.default is not None:
                out[attr.name] = attr.default
            elif attr.mandatory:
                raise MissingParameter(f"{schema.name}.{attr.name}")
    return out


def unique_values(schema: ExtensionSchema, record: dict[str, Any]) -> list[tuple[Any, ...]]:
    """For each unique group of the schema, the record's values for it (None where a value is absent)."""
    out = []
    for group in schema.unique:
        names = [(attr.name if (attr := schema.attribute(n)) else n) for n in group]
        out.append(tuple(record.get(n) for n in names))
    return out
