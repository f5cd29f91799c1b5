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

from ucs_graphql.kit.errors import BadParameter
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.profiles.model import CUSTOMER_ID

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
