"""The header row of an import file and how one record becomes a Customer Profile body.

Columns: `customer_id`; a profile attribute `Name`, or `Name[n]` for its n-th value (1-based, `Name[1]` is
the primary value, whatever the column order); `Ext.attr` for an attribute of a profile extension (one
record per row). Names are matched case-insensitively and surrounding spaces in the header are ignored;
values are taken as they are (spaces included), and an empty value is no value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ucs_graphql.kit.errors import BadParameter, MissingParameter, UcsError
from ucs_graphql.kit.names import check_reserved
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import AttributeSchema, ExtensionSchema
from ucs_graphql.profiles.ids import check_customer_id
from ucs_graphql.profiles.model import CUSTOMER_ID, ProfileInput, parse_profile

HEADER = "header"
ROW = "Importing profile"
_INDEXED = re.compile(r"(?P<name>[^\[\]]+)\[(?P<n>\d+)\]\Z")


@dataclass
class Plan:
    """Where each column goes: (position, attribute, n) values and (position, extension, attribute) fields."""

    width: int
    customer_id: int | None = None
    values: list[tuple[int, str, int]] = field(default_factory=list)
    ext_fields: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def extension_names(self) -> list[str]:
        """The extensions the file writes records of."""
        return sorted({ext for _, ext, _ in self.ext_fields})

    def body(self, fields: list[str]) -> dict[str, Any]:
        """The profile body of one record (a BadParameter when its width is not the header's)."""
        if len(fields) != self.width:
            raise BadParameter(ROW, "number of profile attributes cannot be different than declared "
                                    f"({len(fields)} fields, the header declares {self.width})")
        body: dict[str, Any] = {}
        if self.customer_id is not None and fields[self.customer_id] != "":
            body[CUSTOMER_ID] = fields[self.customer_id]
        for pos, name, _ in self.values:
            value = fields[pos]
            if value != "":
                body.setdefault(name, []).append(value)
        for pos, ext, attr in self.ext_fields:
            value = fields[pos]
            if value != "":
                body.setdefault(ext, {})[attr] = value
        return body


def plan_columns(schemas: TenantSchemas, header: list[str]) -> Plan:
    """Read the header row against the tenant's schemas (400 naming the first column that cannot be used)."""
    plan = Plan(width=len(header))
    seen: dict[str, int] = {}
    for pos, raw in enumerate(header):
        text = raw.strip()
        target: tuple[str, int] | tuple[str, str]
        if not text:
            raise BadParameter(HEADER, f"column {pos + 1} has no name")
        if text.lower() == CUSTOMER_ID:
            plan.customer_id = pos
            target = (CUSTOMER_ID, 1)
        elif "." in text:
            ext_name, _, attr_name = text.partition(".")
            schema = schemas.extension("profile", ext_name.strip())
            if schema is None:
                raise BadParameter(text, f"column '{text}': '{ext_name}' is not a profile extension")
            attr = schema.attribute(attr_name.strip())
            if attr is None:
                raise BadParameter(text, f"column '{text}': '{attr_name}' is not an attribute of '{schema.name}'")
            plan.ext_fields.append((pos, schema.name, attr.name))
            target = (schema.name, attr.name)
        else:
            match = _INDEXED.match(text)
            name, n = (match["name"].strip(), int(match["n"])) if match else (text, 1)
            attr_schema = schemas.profile_attribute(name)
            if attr_schema is None:
                raise BadParameter(text, f"column '{text}': '{name}' is not a profile attribute")
            if n < 1:
                raise BadParameter(text, f"column '{text}': values are numbered from 1 ([1] is the primary value)")
            plan.values.append((pos, attr_schema.name, n))
            target = (attr_schema.name, n)
        key = repr(target).lower()
        if key in seen:
            raise BadParameter(text, f"column '{text}' repeats column {seen[key] + 1}")
        seen[key] = pos
    plan.values.sort(key=lambda v: (v[1], v[2]))
    return plan


def _filled(attributes: Any) -> list[AttributeSchema]:
    """The attributes that an absent value changes: those with a default, and the mandatory ones."""
    return [a for a in attributes if a.default is not None or a.mandatory]


class RecordParser:
    """Parses the records of one file into profile inputs, by the rules of profiles.model.parse_profile.

    The header is resolved once: each column knows its attribute, and a record's values go straight to
    the attributes' own checks (coercion, unauthorized strings, defaults, mandatory attributes) instead
    of through a body keyed by name. A record that breaks any rule is parsed again by parse_profile, so
    the error reported is always the one Create Customer Profile gives.
    """

    def __init__(self, schemas: TenantSchemas, plan: Plan, *, check_values: bool) -> None:
        self.schemas = schemas
        self.plan = plan
        self.check_values = check_values
        groups: dict[str, tuple[AttributeSchema, list[int]]] = {}
        for pos, name, _ in plan.values:  # sorted by (name, n): the order parse_profile sees
            attr = schemas.profile_attribute(name)
            assert attr is not None
            groups.setdefault(attr.name, (attr, []))[1].append(pos)
        self.values = [(attr, positions, check_values and attr.type == "string")
                       for attr, positions in groups.values()]
        self.fill = _filled(schemas.profile_attributes.values())
        self.ext_fields: list[tuple[int, str, ExtensionSchema, AttributeSchema, str, bool]] = []
        self.ext_fill: dict[str, list[AttributeSchema]] = {}
        for pos, ext_name, attr_name in plan.ext_fields:
            schema = schemas.extension("profile", ext_name)
            assert schema is not None
            attr = schema.attribute(attr_name)
            assert attr is not None
            self.ext_fields.append((pos, schema.key, schema, attr, f"{schema.name}.{attr.name}",
                                    check_values and attr.type == "string"))
            self.ext_fill[schema.key] = _filled(schema.attributes)
        # An extension named like a profile attribute (or customer_id) shares its key in a body.
        self.direct = not any(schemas.profile_attribute(ext) is not None or ext.lower() == CUSTOMER_ID
                              for ext in plan.extension_names)

    def parse(self, fields: list[str]) -> ProfileInput:
        """The profile input of one record (the error of parse_profile when it breaks a rule)."""
        if self.direct and len(fields) == self.plan.width:
            try:
                return self._direct(fields)
            except UcsError:
                pass
        return parse_profile(self.schemas, self.plan.body(fields), check_values=self.check_values)

    def _direct(self, fields: list[str]) -> ProfileInput:
        parsed = ProfileInput()
        pos = self.plan.customer_id
        if pos is not None and fields[pos] != "":
            parsed.customer_id = check_customer_id(fields[pos])
        attrs = parsed.attrs
        for attr, positions, check in self.values:
            values = []
            for at in positions:
                raw = fields[at]
                if raw != "":
                    value = attr.coerce(attr.name, raw)
                    if check:
                        check_reserved(attr.name, value)
                    values.append(value)
            if values:
                attrs[attr.name] = values
        for attr in self.fill:
            if attr.name not in attrs:
                if attr.default is None:
                    raise MissingParameter(attr.name)
                attrs[attr.name] = [attr.default]
        records: dict[str, tuple[ExtensionSchema, dict[str, Any]]] = {}
        for at, key, schema, attr, param, check in self.ext_fields:
            raw = fields[at]
            if raw != "":
                value = attr.coerce(param, raw)
                if check:
                    check_reserved(param, value)
                entry = records.get(key)
                if entry is None:
                    entry = records[key] = (schema, {})
                entry[1][attr.name] = value
        for key, (schema, record) in records.items():
            for attr in self.ext_fill[key]:
                if attr.name not in record:
                    if attr.default is None:
                        raise MissingParameter(f"{schema.name}.{attr.name}")
                    record[attr.name] = attr.default
            parsed.exts.append((schema, [record]))
        return parsed
