"""GraphQL: `node(id:)` and `nodes(ids:)`, any object by its global id (the Relay convention client caches
refetch by), read through the same request loaders as the edges that lead to it.

A malformed id (not one `id` ever answers) is the client's BAD_PARAMETER; a well-formed id of an object the
tenant does not have (deleted, never created, another tenant's) answers null. The field needs the read task
of each type of object its ids name (`ucs_graphql.graphql.nodes.KINDS`), as the root field that reads such
an object does; the check of what a document reaches reads the ids before anything runs
(`ucs_graphql.graphql.reach`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from ucs_graphql.graphql import interactions, journeys, nodes, profiles
from ucs_graphql.graphql.context import Info
from ucs_graphql.graphql.nodes import Node
from ucs_graphql.graphql.permissions import needs_per_node
from ucs_graphql.kit.errors import BadParameter
from ucs_graphql.kit.pages import MAX_PAGE

Load = Callable[[Info, tuple[Any, ...]], Awaitable[Node | None]]

LOADS: dict[str, Load] = {
    "Profile": lambda info, key: profiles.existing_profile(info, key[0]),
    "Service": lambda info, key: journeys.service_node(info, key[0]),
    "State": lambda info, key: journeys.state_node(info, key[0], key[1]),
    "Task": lambda info, key: journeys.task_node(info, key[0], key[1]),
    "Interaction": lambda info, key: interactions.interaction_node(info, key[0]),
}
"""Global id kind → how a request reads the object of a key (None when the tenant has none)."""

TASKS = {kind: k.task for kind, k in nodes.KINDS.items()}


def _kind_of(global_id: str) -> tuple[str, ...]:
    return (nodes.parse(global_id)[0],)


@strawberry.type
class NodeQuery:
    @strawberry.field(extensions=needs_per_node("id", _kind_of, TASKS),
                      description="Any object by its global id (null when there is none; BAD_PARAMETER for an id "
                                  "no object has the form of). Needs the read task of the id's type.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        kind, key = nodes.parse(id)
        return await LOADS[kind](info, key)

    @strawberry.field(extensions=needs_per_node("ids", nodes.kinds_of, TASKS),
                      description=f"Objects by their global ids, in the order asked (null where there is none); "
                                  f"at most {MAX_PAGE} ids. Needs the read task of each type the ids name.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_PAGE:
            raise BadParameter("ids", f"{len(ids)} ids: at most {MAX_PAGE} are read at once")
        keys = [nodes.parse(global_id) for global_id in ids]  # every id is checked before any is read
        return list(await asyncio.gather(*(LOADS[kind](info, key) for kind, key in keys)))
