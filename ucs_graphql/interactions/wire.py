"""The reference's Interaction resource on the wire: stored fields, with content given as absolute URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ucs_graphql.interactions.model import PART_FIELD, PARTS
from ucs_graphql.interactions.store import Interaction


def content_url(base_url: str, interaction_id: str, part: str) -> str:
    """The absolute URL that serves one content part of an interaction."""
    return f"{base_url}/interactions/{quote(interaction_id, safe='')}/{part}"


def content_urls(ixn: Interaction, base_url: str) -> dict[str, str]:
    """The wire fields (`text`, `structured_text`, `binary_content`) of the parts this interaction has."""
    return {PART_FIELD[p]: content_url(base_url, ixn.interaction_id, p) for p in PARTS if p in ixn.parts}


def to_wire(ixn: Interaction, base_url: str) -> dict[str, Any]:
    """The Interaction resource as the reference shows it."""
    out: dict[str, Any] = {"interaction_id": ixn.interaction_id, "customer_id": ixn.customer_id, **ixn.doc}
    if ixn.service_id is not None:
        out["service_id"] = ixn.service_id
    out.update(content_urls(ixn, base_url))
    return out
