"""SQL of a customer view: profiles with a page of their services (and those services' states and tasks) and a
page of their interactions, in one statement.

The statement is a UNION ALL of the SELECTs each read runs alone (ucs_graphql.journeys.store's page of
services with its items, groups 0 to 2; the profile rows, group 10; ucs_graphql.interactions.store's page of
interactions, group 11), laid out in the columns of the services' SELECTs (journeys.store.WITH_COLUMNS):
a profile's data travels in `started`; an interaction's id in `contact_key`, its entity type in `item_id`, its
start in `started_at`, its document in `started` and whether it has each content part as 1 or 0 in
`state_id`, `previous_state_id` and `est_duration`. Only UNION ALL, CAST(NULL AS ...), CASE and the window
function the reads use alone: the same SQL on SQLite, PostgreSQL and the distributed engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, bindparam, case, cast, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.fast import FastShapes
from ucs_graphql.db.tables.profiles import profile
from ucs_graphql.interactions import store as interaction_store
from ucs_graphql.journeys import store as journey_store
from ucs_graphql.journeys.store import Filters
from ucs_graphql.kit import jsonio

PROFILE_GROUP, INTERACTION_GROUP = 10, 11


@dataclass(frozen=True)
class Found:
    """What one customer-view statement read: stored profile data, services and their items (as
    journeys.store.services_with_children gives them), interactions (newest first) by customer."""

    profiles: dict[str, Any]
    services: list[dict[str, Any]]
    items: dict[str, list[dict[str, Any]]]
    interactions: dict[str, list[interaction_store.Interaction]]


def _flag(column: Any) -> Any:
    return case((column, literal_column("1")), else_=literal_column("0"))


def _build(shape: tuple[journey_store.ServicesShape, tuple[bool] | None]) -> Any:
    services, interactions = shape
    none_int, none_big, none_text = cast(null(), Integer), cast(null(), BigInteger), cast(null(), String)
    parts = journey_store.services_with_parts(services)
    parts.append(select(literal_column(str(PROFILE_GROUP)), none_int, none_big, profile.c.customer_id, none_text,
                        none_text, none_int, none_int, none_big, none_big, none_big, none_text, none_text,
                        profile.c.data, cast(null(), Text))
                 .where(profile.c.tenant_id == bindparam("tenant"),
                        profile.c.customer_id.in_([bindparam(f"id_{i}") for i in range(services[0])])))
    if interactions is not None:
        page = interaction_store.page_of_customers(services[0], interactions[0], "interactions_limit").subquery()
        c = page.c
        parts.append(select(literal_column(str(INTERACTION_GROUP)), c.entity_type, c.service_id, c.customer_id,
                            c.interaction_id, none_text, _flag(c.has_text), _flag(c.has_structured_text),
                            _flag(c.has_binary_content), c.start_ms, none_big, none_text, none_text, c.doc,
                            cast(null(), Text)))
    return union_all(*parts).order_by(literal_column("grp"), literal_column("customer_id"), literal_column("item_id"))


_VIEW = FastShapes(_build)


async def customer_views(
    conn: AsyncConnection, tenant: int, customer_ids: Sequence[str], f: Filters, limit: int, after: int | None,
    levels: tuple[str, ...], interactions: tuple[int, tuple[int, str] | None] | None,
) -> Found:
    """Profiles of up to 1,000 customers with up to `limit` of their services matching `f` after service
    `after` (and every state and task of those, `levels`) and, when `interactions` gives (limit, after), a
    page of their interactions (as interactions.store.interactions_of_customers); one statement."""
    shape, values = journey_store.services_with_shape(tenant, customer_ids, f, limit, after, levels)
    if interactions is not None:
        values.update(interactions_limit=interactions[0], after_start=None, after_id=None)
        if interactions[1] is not None:
            values.update(after_start=interactions[1][0], after_id=interactions[1][1])
    rows = await _VIEW[(shape, None if interactions is None else (interactions[1] is not None,))].fetch(conn, values)
    profiles: dict[str, Any] = {}
    found: dict[str, list[interaction_store.Interaction]] = {}
    journeys: list[Sequence[Any]] = []
    for row in rows:
        if row[0] == PROFILE_GROUP:
            profiles[row[3]] = jsonio.loads(row[13])
        elif row[0] == INTERACTION_GROUP:
            found.setdefault(row[3], []).append(interaction_store.of_values(
                row[4], row[3], row[2], row[1], row[9], row[13], row[6], row[7], row[8]))
        else:
            journeys.append(row)
    services, items = journey_store.services_with_rows(journeys, levels)
    return Found(profiles, services, items, {k: interaction_store.newest_first(v) for k, v in found.items()})
