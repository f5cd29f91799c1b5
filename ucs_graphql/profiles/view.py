"""A customer view: profiles read with a page of their services (with those services' states and tasks) and a
page of their interactions, in one statement (ucs_graphql.profiles.view_store). Each part is what its own read
gives (profiles.service.load_attributes, journeys.batch.services_and_children_of_customers,
interactions.service.interactions_of_customers), so a caller can hand the parts to whatever reads them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ucs_graphql.context import Ctx
from ucs_graphql.crypto import keyring
from ucs_graphql.interactions import service as interaction_service
from ucs_graphql.interactions.store import Interaction
from ucs_graphql.journeys import batch
from ucs_graphql.journeys.store import Filters
from ucs_graphql.kit import pages
from ucs_graphql.kit.errors import UnreadableValue
from ucs_graphql.profiles import reading, view_store

MAX_CUSTOMERS = 1000
"""The most customers one view statement reads (the IN list of the reads it joins)."""


@dataclass(frozen=True)
class Views:
    """Customer id → rendered attributes (absent customers missing); services and their items as
    services_and_children_of_customers gives them; customer id → interactions as interactions_of_customers
    gives them (empty without a page of interactions)."""

    attributes: dict[str, dict[str, Any] | UnreadableValue]
    services: dict[str, list[dict[str, Any]]]
    children: dict[str, dict[int, list[dict[str, Any]]]]
    interactions: dict[str, list[Interaction]]


async def customer_views(
    ctx: Ctx, customer_ids: Sequence[str], f: Filters, services: pages.Page, levels: tuple[str, ...],
    interactions: pages.Page | None,
) -> Views:
    """Profiles of up to MAX_CUSTOMERS customers, with the page `services` of their services matching `f`
    (every state and task of those when `levels` names them) and the page `interactions` of their
    interactions; one statement."""
    ctx.require_production("reading customer profiles")
    ctx.require_production("querying services")
    for level in levels:
        ctx.require_production(f"reading {level}s")
    if interactions is not None:
        ctx.require_production("querying interactions")
    if len(set(customer_ids)) > MAX_CUSTOMERS:
        raise ValueError(f"a customer view reads at most {MAX_CUSTOMERS} customers")
    schemas = await ctx.schemas()
    async with ctx.db.read() as conn:
        found = await view_store.customer_views(
            conn, ctx.tenant, customer_ids, f, services.first + 1, pages.int_key(services), levels,
            interaction_service.page_bounds(interactions) if interactions is not None else None)
    attributes = reading.rendered_attributes(ctx.tenant, schemas, keyring.cipher_of(ctx.rt), found.profiles)
    docs, children = batch.rendered_services_and_children(ctx, found.services, found.items)
    return Views(attributes, docs, children, found.interactions)
