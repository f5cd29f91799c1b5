"""Profile bodies as typed values: parsing against the tenant's schemas, and the wire rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ucs_graphql.kit.errors import BadParameter, MissingParameter, NotFound
from ucs_graphql.kit.names import check_reserved
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import AttributeSchema, ExtensionSchema
from ucs_graphql.metadata.records import validate_record
from ucs_graphql.profiles.ids import check_customer_id

Data = dict[str, list[Any]]
Record = dict[str, Any]
CUSTOMER_ID = "customer_id"


@dataclass
class ProfileInput:
    """A parsed body: the customer id when given, plain attribute values, validated extension records."""

    customer_id: str | None = None
    attrs: Data = field(default_factory=dict)
    exts: list[tuple[ExtensionSchema, list[Record]]] = field(default_factory=list)


def parse_values(attr: AttributeSchema, raw: Any, *, check_values: bool) -> list[Any]:
    """The values of one profile attribute: a scalar is one value, an array lists them (primary first)."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if item is None:
            raise BadParameter(attr.name, "null is not a value")
        value = attr.coerce(attr.name, item)
        if check_values and isinstance(value, str) and attr.type == "string":
            check_reserved(attr.name, value)
        out.append(value)
    return out


def parse_records(schema: ExtensionSchema, raw: Any, customer_id: str | None, *, check_values: bool) -> list[Record]:
    """An extension's records: an object for a single-valued extension, an array for a multi-valued one."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    if not schema.multi and len(items) > 1:
        raise BadParameter(schema.name, f"'{schema.name}' is single-valued: give one record, not an array")
    out = []
    for item in items:
        if isinstance(item, dict) and CUSTOMER_ID in item and schema.attribute(CUSTOMER_ID) is None:
            if customer_id is not None and item[CUSTOMER_ID] != customer_id:
                raise BadParameter(f"{schema.name}.{CUSTOMER_ID}", "the record names another customer")
            item = {k: v for k, v in item.items() if k != CUSTOMER_ID}
        out.append(validate_record(schema, item, check_reserved_values=check_values))
    return out


def extension_schema(schemas: TenantSchemas, name: str) -> ExtensionSchema:
    """A profile extension by case-insensitive name (404 when it does not exist)."""
    schema = schemas.extension("profile", name)
    if schema is None:
        raise NotFound(f"profile extension '{name}' does not exist")
    return schema


def parse_profile(
    schemas: TenantSchemas, body: Any, *, check_values: bool, attributes: bool = True, customer_id: str | None = None
) -> ProfileInput:
    """Parse a Customer Profile body (or, without `attributes`, an extensions-only body).

    Unknown names are 400s naming them; with `attributes`, absent attributes take their default and
    mandatory ones must be present.
    """
    if not isinstance(body, dict):
        raise BadParameter("profile", "the body must be a JSON object")
    parsed = ProfileInput()
    if body.get(CUSTOMER_ID) is not None:
        parsed.customer_id = check_customer_id(body[CUSTOMER_ID])
        if customer_id is not None and parsed.customer_id != customer_id:
            raise BadParameter(CUSTOMER_ID, f"'{parsed.customer_id}' is not the customer of the path ({customer_id})")
    owner = customer_id or parsed.customer_id
    seen: set[str] = set()
    for name, raw in body.items():
        if name == CUSTOMER_ID:
            continue
        attr = schemas.profile_attribute(name) if attributes else None
        schema = schemas.extension("profile", name) if attr is None else None
        if attr is None and schema is None:
            what = "a profile attribute or a profile extension" if attributes else "a profile extension"
            raise BadParameter(name, f"'{name}' is not {what}")
        canonical = attr.name if attr is not None else schema.name  # type: ignore[union-attr]
        if canonical.lower() in seen:
            raise BadParameter(name, f"'{canonical}' is given twice")
        seen.add(canonical.lower())
        if attr is not None:
            if raw is not None and raw != []:
                parsed.attrs[attr.name] = parse_values(attr, raw, check_values=check_values)
        else:
            assert schema is not None
            parsed.exts.append((schema, parse_records(schema, raw, owner, check_values=check_values)))
    if attributes:
        for attr in schemas.profile_attributes.values():
            if attr.name in parsed.attrs:
                continue
            if attr.default is not None:
                parsed.attrs[attr.name] = [attr.default]
            elif attr.mandatory:
                raise MissingParameter(attr.name)
    return parsed


def render_attributes(data: Data) -> dict[str, Any]:
    """Attribute values on the wire: a scalar for one value, an array for several."""
    return {name: values[0] if len(values) == 1 else list(values) for name, values in data.items() if values}


def render_extension(schema: ExtensionSchema, records: list[Record]) -> Any:
    """An extension on the wire: an object (or null) when single-valued, an array when multi-valued."""
    if schema.multi:
        return records
    return records[0] if records else None
