"""Values of service, state and task events: field rules, business-attribute ids and names, body parsing.

A body (start, complete, associate, transition) is split into item-level fields (type, est_duration,
disposition...), the event document (session, interaction, application, resource, media, timestamp) and
extension records (every other key names an extension of the level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ucs_graphql.context import Ctx
from ucs_graphql.db.tables.journeys import CONTACT_KEY_LEN, CUSTOMER_ID_LEN, TYPE_LEN
from ucs_graphql.kit.errors import BadParameter, MissingParameter
from ucs_graphql.kit.timefmt import format_ms, now_ms, parse_dt, to_millis
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.metadata.model import INT32, INT64, ExtensionSchema, coerce_int
from ucs_graphql.metadata.records import validate_record
from ucs_graphql.metadata.service import business_attributes_all

# Limits of the End Event resources, applied to every event.
STRING_LIMITS = {"session_id": 32, "interaction_id": 50, "disposition_desc": 64}
# Fields typed "long or string" whose values may be business-attribute ids or names.
BUSINESS_FIELDS = ("application_type", "resource_type", "media_type", "disposition")
EVENT_FIELDS = ("session_id", "interaction_id", "application_type", "application_id", "resource_type",
                "resource_id", "media_type", "timestamp")
END_FIELDS = ("disposition", "disposition_desc")
TYPE_FIELD = {"service": "service_type", "state": "state_type", "task": "task_type"}
_CV_LEVEL = {"service": "Service", "state": "State", "task": "Task"}


@dataclass(frozen=True)
class Attribute:
    """One business attribute as a lookup table: value names (lower case) ↔ dbids."""

    map_name: bool
    by_name: dict[str, int]
    by_id: dict[int, str]


@dataclass(frozen=True)
class Business:
    """The business attributes behind each "long or string" field, by `Level.field` (lower case)."""

    by_cv: dict[str, Attribute]

    def _attr(self, level: str, name: str) -> Attribute | None:
        key = "type" if name == TYPE_FIELD[level] else name
        return self.by_cv.get(f"{_CV_LEVEL[level]}.{key}".lower())

    def store(self, level: str, name: str, value: Any) -> str:
        """The stored form of an id or a name: the dbid in decimal when known or numeric, else the name."""
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise BadParameter(name, f"'{value}' is neither an id nor a name")
        if isinstance(value, int):
            if not INT64[0] <= value <= INT64[1]:
                raise BadParameter(name, f"'{value}' is out of range")
            return str(value)
        text = value.strip()
        if not text:
            raise BadParameter(name, "an id or a name is required")
        if text.lstrip("-").isdigit():
            return str(int(text))
        attr = self._attr(level, name)
        if attr is not None and text.lower() in attr.by_name:
            return str(attr.by_name[text.lower()])
        if len(text) > TYPE_LEN:
            raise BadParameter(name, f"value is longer than {TYPE_LEN} characters")
        return text

    def show(self, level: str, name: str, stored: str) -> int | str:
        """The wire form of a stored value: the name when its attribute maps names, else the id."""
        if not stored.lstrip("-").isdigit():
            return stored
        dbid = int(stored)
        attr = self._attr(level, name)
        if attr is not None and attr.map_name and dbid in attr.by_id:
            return attr.by_id[dbid]
        return dbid


def business(ctx: Ctx) -> Business:
    """The business-attribute lookups of this process (built once from the settings)."""
    got = ctx.rt.parts.get("journeys.business")
    if got is None:
        by_cv: dict[str, Attribute] = {}
        for ba in business_attributes_all(ctx):
            values = ba.get("values", [])
            attr = Attribute(
                map_name=bool(ba.get("map_name", False)),
                by_name={str(v["name"]).lower(): int(v["dbid"]) for v in values},
                by_id={int(v["dbid"]): str(v["name"]) for v in values},
            )
            for cv in ba.get("cv_attributes", []):
                by_cv[str(cv).lower()] = attr
        got = ctx.rt.parts["journeys.business"] = Business(by_cv)
    return got


@dataclass
class Body:
    """A parsed event body: item-level fields, the event document, its time and extension records."""

    at_ms: int
    event: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    extensions: list[tuple[ExtensionSchema, list[dict[str, Any]]]] = field(default_factory=list)


def _string(name: str, value: Any, limit: int | None) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadParameter(name, f"'{value}' is not a string")
    text = str(value)
    if limit is not None and len(text) > limit:
        raise BadParameter(name, f"value is longer than {limit} characters")
    return text


def _integer(name: str, value: Any, bounds: tuple[int, int] = INT64, minimum: int | None = None) -> int:
    n = coerce_int(name, value)
    if not bounds[0] <= n <= bounds[1] or (minimum is not None and n < minimum):
        raise BadParameter(name, f"'{value}' is out of range")
    return n


def parse_time(name: str, value: Any) -> int:
    """A wire date/time as UTC milliseconds (400 naming `name` when it is not one)."""
    if not isinstance(value, str):
        raise BadParameter(name, f"'{value}' is not a date/time (yyyy-MM-ddTHH:mm:ss.SSSZ)")
    try:
        return to_millis(parse_dt(value))
    except ValueError as exc:
        raise BadParameter(name, str(exc)) from exc


def item_value(ctx: Ctx, level: str, name: str, value: Any) -> Any:
    """Check and normalise one item-level field (type, ids, durations, disposition, customer, contact key)."""
    if name == TYPE_FIELD[level] or name == "disposition":
        return business(ctx).store(level, name, value)
    if name == "disposition_desc":
        return _string(name, value, STRING_LIMITS[name])
    if name == "est_duration":
        return _integer(name, value, minimum=0)
    if name in ("state_id", "previous_state_id"):
        return _integer(name, value, INT32, minimum=1)
    if name == "customer_id":
        return _string(name, value, CUSTOMER_ID_LEN)
    if name == "contact_key":
        return _string(name, value, CONTACT_KEY_LEN)
    raise BadParameter(name, "unknown field")  # pragma: no cover - callers pass known names


def event_value(ctx: Ctx, level: str, name: str, value: Any) -> Any:
    """Check and normalise one event field (ids and names of business attributes are stored as ids)."""
    if name in BUSINESS_FIELDS:
        return business(ctx).store(level, name, value)
    if name in ("application_id", "resource_id"):
        return _integer(name, value)
    return _string(name, value, STRING_LIMITS.get(name))


def extension_records(
    ctx: Ctx, schemas: TenantSchemas, level: str, name: str, value: Any
) -> tuple[ExtensionSchema, list[dict[str, Any]]]:
    """The validated records given for extension `name` (an object, an array, or null for none)."""
    schema = schemas.extension(level, name)
    if schema is None:
        raise BadParameter(name, f"'{name}' is neither a field nor a {level} extension")
    if value is None:
        raw: list[Any] = []
    elif isinstance(value, list):
        raw = value
    else:
        raw = [value]
    if not schema.multi and len(raw) > 1:
        raise BadParameter(schema.name, "a single-valued extension takes one record")
    check = ctx.settings.check_reserved_values
    return schema, [validate_record(schema, r, check_reserved_values=check) for r in raw]


def parse_body(
    ctx: Ctx,
    schemas: TenantSchemas,
    level: str,
    body: Any,
    item_fields: tuple[str, ...],
    *,
    required: tuple[str, ...] = (),
    ignored: tuple[str, ...] = (),
    now: tuple[int, str] | None = None,
) -> Body:
    """Split a body into fields, event, time and extensions; timestamp defaults to now (`now`: the current
    time in milliseconds and in the wire form, when the caller took it already)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadParameter("body", "the body must be a JSON object")
    for name in required:
        if body.get(name) is None:
            raise MissingParameter(name)
    at_ms, stamp = now if now is not None else (now_ms(), None)
    event: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    extensions = []
    for name, value in body.items():
        if name in item_fields:
            if value is not None:
                fields[name] = item_value(ctx, level, name, value)
        elif name == "timestamp":
            if value is not None:
                at_ms, stamp = parse_time(name, value), None
        elif name in EVENT_FIELDS:
            if value is not None:
                event[name] = event_value(ctx, level, name, value)
        elif name in ignored:
            continue
        else:
            extensions.append(extension_records(ctx, schemas, level, name, value))
    event = {"timestamp": stamp or format_ms(at_ms), **event}
    return Body(at_ms=at_ms, event=event, fields=fields, extensions=extensions)


def format_dt_ms(ms: int) -> str:
    """Milliseconds since the epoch in the wire form."""
    return format_ms(ms)


def split_list(name: str, raw: str | None) -> list[str] | None:
    """A comma-separated query value as a list (None when absent)."""
    if raw is None:
        return None
    items = [p.strip() for p in raw.split(",") if p.strip()]
    if not items:
        raise BadParameter(name, "give one or more values separated by commas")
    return items
