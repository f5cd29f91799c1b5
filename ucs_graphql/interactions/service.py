"""Use cases of the interactions context: ingest (X.IXN.CREATE) and the queries of CV.WS.IXN.2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.context import Ctx
from ucs_graphql.db.errors import as_unique_violation
from ucs_graphql.interactions import store
from ucs_graphql.interactions.ids import new_interaction_id
from ucs_graphql.interactions.model import PARTS, Content, Upload, parse_interaction
from ucs_graphql.interactions.store import Interaction
from ucs_graphql.kit.errors import AlreadyExists, BadParameter, NotFound
from ucs_graphql.kit.pages import Page, int_key

MAX_PAGE = 1000


async def create_interaction(ctx: Ctx, body: Any, uploads: Mapping[str, Upload] | None = None) -> str:
    """Store one interaction with its content; returns its id (the given one, or a generated one)."""
    ctx.require_production("ingesting an interaction")
    new = parse_interaction(body, uploads)
    interaction_id = new.interaction_id or new_interaction_id()

    async def work(conn: AsyncConnection) -> None:
        try:
            await store.insert_interaction(conn, ctx.tenant, interaction_id, new)
        except sa_exc.IntegrityError as err:
            if as_unique_violation(err) is None:
                raise
            raise AlreadyExists(f"interaction '{interaction_id}' already exists") from err

    await ctx.db.write(work)
    return interaction_id


async def get_interaction(ctx: Ctx, interaction_id: str) -> Interaction:
    """One interaction by id (404 when the tenant has none with this id)."""
    ctx.require_production("querying interactions")
    async with ctx.db.read() as conn:
        found = await store.get_interaction(conn, ctx.tenant, interaction_id)
    if found is None:
        raise NotFound(f"interaction '{interaction_id}' does not exist")
    return found


async def interactions_by_ids(ctx: Ctx, interaction_ids: Sequence[str]) -> list[Interaction | None]:
    """Interactions by id, in order (None where the tenant has none with the id): the batch behind
    `node(id:)`."""
    ctx.require_production("querying interactions")
    async with ctx.db.read() as conn:
        found = await store.interactions_by_ids(conn, ctx.tenant, interaction_ids)
    return [found.get(i) for i in interaction_ids]


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and not 0 <= limit <= MAX_PAGE:
        raise BadParameter("limit", f"'{limit}' is not between 0 and {MAX_PAGE}")
    if offset < 0:
        raise BadParameter("offset", f"'{offset}' is negative")


async def customer_interactions(
    ctx: Ctx, customer_id: str, limit: int | None = None, offset: int = 0
) -> list[Interaction]:
    """A customer's interactions, oldest first ([] when there are none)."""
    ctx.require_production("querying interactions")
    _check_page(limit, offset)
    async with ctx.db.read() as conn:
        return await store.customer_interactions(conn, ctx.tenant, customer_id, limit, offset)


async def service_interactions(
    ctx: Ctx, service_id: int, limit: int | None = None, offset: int = 0
) -> list[Interaction]:
    """A service's interactions: ingested with its id or named by its events, oldest first."""
    ctx.require_production("querying interactions")
    _check_page(limit, offset)
    async with ctx.db.read() as conn:
        return await store.service_interactions(conn, ctx.tenant, service_id, limit, offset)


def _part(part: str) -> str:
    if part not in PARTS:
        raise NotFound(f"interactions have no content '{part}' ({', '.join(PARTS)})")
    return part


async def interaction_content(ctx: Ctx, interaction_id: str, part: str) -> Content:
    """One content part of an interaction (404 when the interaction or the part does not exist)."""
    ctx.require_production("querying interactions")
    _part(part)
    async with ctx.db.read() as conn:
        found = (await store.get_contents(conn, ctx.tenant, part, [interaction_id])).get(interaction_id)
        if found is None and await store.get_interaction(conn, ctx.tenant, interaction_id) is not None:
            raise NotFound(f"interaction '{interaction_id}' has no {part.replace('_', ' ')}")
    if found is None:
        raise NotFound(f"interaction '{interaction_id}' does not exist")
    return found


async def load_contents(ctx: Ctx, part: str, interaction_ids: Sequence[str]) -> list[Content | None]:
    """One content part of each interaction, in order (None where absent): the batch behind lazy fields."""
    ctx.require_production("querying interactions")
    _part(part)
    async with ctx.db.read() as conn:
        found = await store.get_contents(conn, ctx.tenant, part, interaction_ids)
    return [found.get(i) for i in interaction_ids]



CURSOR = "interaction"
"""The kind of the cursors of interaction pages; their key is (start in ms, interaction id)."""


def page_bounds(page: Page) -> tuple[int, tuple[int, str] | None]:
    """How many interactions a page reads (one more than it shows) and the (start, id) it starts after."""
    return page.first + 1, _after(page)


def _after(page: Page) -> tuple[int, str] | None:
    start = int_key(page)
    return None if start is None or page.after is None else (start, page.after[1])


async def interactions_of_customers(
    ctx: Ctx, customer_ids: Sequence[str], page: Page
) -> dict[str, list[Interaction]]:
    """customer id → a page of its interactions, newest first, plus the first of the next page when there is
    one (`page.first` + 1 at most); one statement whatever the number of customers."""
    ctx.require_production("querying interactions")
    async with ctx.db.read() as conn:
        return await store.interactions_of_customers(conn, ctx.tenant, customer_ids, page.first + 1, _after(page))


async def interactions_of_services(
    ctx: Ctx, service_ids: Sequence[int], page: Page
) -> dict[int, list[Interaction]]:
    """service id → a page of its interactions (as `service_interactions`), newest first, plus the first of
    the next page when there is one; two statements whatever the number of services."""
    ctx.require_production("querying interactions")
    async with ctx.db.read() as conn:
        found = await store.interactions_of_services(conn, ctx.tenant, service_ids)
    after = _after(page)
    out: dict[int, list[Interaction]] = {}
    for owner, rows in found.items():
        if after is not None:
            rows = [r for r in rows if (r.start_ms, r.interaction_id) < after]
        out[owner] = rows[:page.first + 1]
    return out
