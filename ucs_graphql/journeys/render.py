"""Rows to the wire: the Service, State and Task resources exactly as the reference describes them.

`started` and `completed` are event objects without the item-level fields (est_duration, disposition,
disposition_desc); `duration` is in milliseconds on completed items; service_id and customer_id appear on
top-level items only; business-attribute values are ids, or names when their attribute maps names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from ucs_graphql.journeys.values import BUSINESS_FIELDS, TYPE_FIELD, Business
from ucs_graphql.kit import jsonio


def _event(biz: Business, level: str, raw: str) -> dict[str, Any]:
    doc: dict[str, Any] = jsonio.loads(raw)
    for name in BUSINESS_FIELDS:
        if name in doc:
            doc[name] = biz.show(level, name, doc[name])
    return doc


def item(biz: Business, level: str, row: Row[Any], *, top: bool, customer_id: str | None = None) -> dict[str, Any]:
    """The wire form of a service, state or task row (no nested lists, no extensions)."""
    mapping: Mapping[str, Any] = row._mapping  # type: ignore[assignment]
    return item_of(biz, level, mapping, top=top, customer_id=customer_id)


def item_of(biz: Business, level: str, m: Mapping[str, Any], *, top: bool, customer_id: str | None = None
            ) -> dict[str, Any]:
    """`item` of a row's columns by name."""
    out: dict[str, Any] = {}
    if level != "service":
        out[f"{level}_id"] = m[f"{level}_id"]
    if top:
        out["service_id"] = m["service_id"]
    type_field = TYPE_FIELD[level]
    out[type_field] = biz.show(level, type_field, m[type_field])
    if level == "service":
        customer_id = m["customer_id"]
        if m["contact_key"] is not None:
            out["contact_key"] = m["contact_key"]
    if top and customer_id is not None:
        out["customer_id"] = customer_id
    if level == "task" and m["state_id"] is not None:
        out["state_id"] = m["state_id"]
    if m["est_duration"] is not None:
        out["est_duration"] = m["est_duration"]
    started = _event(biz, level, m["started"])
    if level == "state" and m["previous_state_id"] is not None:
        started["previous_state_id"] = m["previous_state_id"]
    out["started"] = started
    if m["completed_at"] is not None:
        out["completed"] = _event(biz, level, m["completed"])
        out["duration"] = max(0, m["completed_at"] - m["started_at"])
    if m["disposition"] is not None:
        out["disposition"] = biz.show(level, "disposition", m["disposition"])
    if m["disposition_desc"] is not None:
        out["disposition_desc"] = m["disposition_desc"]
    return out
