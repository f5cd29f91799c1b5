"""Customer-view documents answered from their one read: a compiled plan's fields given their values from it.

A customer-360 panel sends `profile(customerId:)` with its attributes, a page of its services (`activeServices`,
or `services` without filters) with their states and tasks, and a page of its interactions. Whichever path
runs it, that is one statement (ucs_graphql.profiles.view). The full path, and a plan walking the document,
then hand what it read to the loaders each field reads from: a resolver call, its info, a load and its future
per field and object. In a plan of that shape (`specialise`) the root field reads the view itself, and each of
those fields takes its value straight from the read (`compiled.Plan.give`): the same functions make the same objects
(`journeys.service_connection`, `State.of`, `Task.of`, `interaction_connection`) and the plan's own
completion writes them, so the answer is the walk's, byte for byte (tests/test_graphql_differential.py).

The root field's permission checks run as the walk makes them; what the document reaches was checked before
(ucs_graphql.graphql.reach). Other root fields of the document (metadata, say) run as in any plan. A
customer that does not exist, an argument the fields refuse, a failed read, or attributes that cannot be read
when the document asks for them raise Fallback: the full path answers, with its errors (attributes that cannot
be read fail only that field there, so a document that does not ask for them is answered from the view).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql.pyutils import Path
from strawberry.scalars import JSON

from ucs_graphql.graphql import interactions as interaction_types
from ucs_graphql.graphql import journeys, profiles
from ucs_graphql.graphql.compiled import Fallback, Plan
from ucs_graphql.interactions import service as interaction_service
from ucs_graphql.interactions.store import Interaction
from ucs_graphql.journeys import batch
from ucs_graphql.journeys import service as journey_service
from ucs_graphql.kit import pages
from ucs_graphql.kit.errors import UnreadableValue
from ucs_graphql.profiles import view

__all__ = ["specialise"]

_PAGE_ARGUMENTS = frozenset({"first", "after"})


@dataclass(frozen=True)
class _Shape:
    """The fields of a customer-view document: the root `profile` field, its services field (`activeServices`
    when `active`), the levels of items read along, and its interactions field (or None)."""

    root: Any
    services: Any
    active: bool
    levels: tuple[str, ...]
    interactions: Any


class _Read:
    """What one request read: the customer's attributes, its page of services (one more than asked), the
    states and tasks of those by level and service id, its page of interactions, and the pages asked."""

    __slots__ = ("attributes", "children", "interactions", "ipage", "services", "spage")

    def __init__(self, attributes: dict[str, Any] | UnreadableValue, services: list[dict[str, Any]],
                 children: dict[str, dict[int, list[dict[str, Any]]]], interactions: list[Interaction],
                 spage: pages.Page, ipage: pages.Page | None) -> None:
        self.attributes = attributes
        self.services = services
        self.children = children
        self.interactions = interactions
        self.spage = spage
        self.ipage = ipage


def specialise(plan: Plan) -> None:
    """Give the fields of a plan's customer-view document their values from the view (leaving the plan as it is
    when it has none)."""
    shape = _shape(plan)
    if shape is None:
        return
    inside = {id(f) for f in _below(shape.root)}

    async def profile(source: Any, run: Any) -> profiles.Profile:
        return await _read(plan, shape, run)

    def values(f: Any) -> Any:
        if f is shape.root:
            return profile
        return _FROM_VIEW.get(_resolver_of(f)) if id(f) in inside else None

    plan.give(values)


async def _read(plan: Plan, shape: _Shape, run: Any) -> profiles.Profile:
    """The root field's value: its checks made, the customer view read and kept in the run for the fields
    below."""
    root = shape.root
    kwargs = plan.kwargs(root, run)
    await plan.check(root, None, Path(None, root.key, root.parent.name), run, kwargs)
    customer_id = kwargs["customer_id"]
    ctx = run.context.ctx
    given = plan.kwargs(shape.services, run)
    spage = pages.page(journeys.SERVICE_CURSOR, given.get("first", pages.DEFAULT_PAGE), given.get("after"))
    f = batch.BY_STATUS["active"] if shape.active else journey_service.service_filters(
        ctx, journeys.ItemStatus.ALL.value, service_types=None)
    ipage = None
    if shape.interactions is not None:
        given = plan.kwargs(shape.interactions, run)
        ipage = pages.page(interaction_service.CURSOR, given.get("first", pages.DEFAULT_PAGE), given.get("after"),
                           parts=2)
    views = await view.customer_views(ctx, [customer_id], f, spage, shape.levels, ipage)
    attributes = views.attributes.get(customer_id)
    if attributes is None:
        raise Fallback  # no such customer: the full path's error
    run.read = _Read(attributes, views.services.get(customer_id, []), views.children,
                     views.interactions.get(customer_id, []), spage, ipage)
    return profiles.Profile(customer_id=customer_id)


def _attributes(source: Any, run: Any) -> Any:
    found = run.read.attributes
    if isinstance(found, UnreadableValue):
        raise Fallback  # the field's error, which the full path reports (the profile's other fields read)
    return JSON(found)


def _services(source: Any, run: Any) -> Any:
    return journeys.service_connection(run.read.services, run.read.spage)


def _interactions(source: Any, run: Any) -> Any:
    return interaction_types.interaction_connection(run.read.interactions, run.read.ipage)


def _states(source: Any, run: Any) -> Any:
    return [journeys.State.of(d) for d in run.read.children["state"].get(source.service_id, [])]


def _tasks(source: Any, run: Any) -> Any:
    return [journeys.Task.of(d) for d in run.read.children["task"].get(source.service_id, [])]


_FROM_VIEW: dict[Any, Any] = {
    profiles.Profile.attributes: _attributes,
    profiles.Profile.active_services: _services,
    profiles.Profile.services: _services,
    profiles.Profile.interactions: _interactions,
    journeys.Service.states: _states,
    journeys.Service.tasks: _tasks,
}
"""The fields below the root that take their values from the view, by the function of their resolver."""


def _shape(plan: Plan) -> _Shape | None:
    """The shape of a customer-view document, or None: one root `profile` field (beside other root fields
    without resolvers below them) with no argument but `customerId`, selecting (besides fields without a
    resolver and plain methods) `attributes`, exactly one services field and at most one `interactions` field,
    these with no argument but `first` and `after`; below them, only `states` and `tasks` of the services
    without arguments (what a customer view reads along)."""
    roots = [f for f in plan.fields if _resolver_of(f) is profiles.ProfileQuery.profile]
    if len(roots) != 1 or _argument_names(roots[0]) != {"customerId"}:
        return None
    root = roots[0]
    if any(_resolver_of(f) is not None for other in plan.fields if other is not root for f in _below(other)):
        # Another root field reads more below it: what it reads could then find what the view read handed to
        # the loaders on the full path (one statement less there); only the root field's own read is let be.
        return None
    services: list[Any] = []
    listed: list[Any] = []
    for f in root.children:
        resolver = _resolver_of(f)
        if resolver in (profiles.Profile.active_services, profiles.Profile.services):
            services.append(f)
        elif resolver is profiles.Profile.interactions:
            listed.append(f)
        elif resolver is not None and resolver is not profiles.Profile.attributes:
            return None
        if f.nodes[0].arguments and _argument_names(f) - _PAGE_ARGUMENTS:
            return None
    if len(services) != 1 or len(listed) > 1:
        return None
    read_along = {journeys.Service.states: "state", journeys.Service.tasks: "task"}
    levels: set[str] = set()
    for f in _below(services[0], *listed):
        resolver = _resolver_of(f)
        if resolver is None:
            continue
        if resolver not in read_along or f.nodes[0].arguments:
            return None
        levels.add(read_along[resolver])
    ordered = journeys.items_selected_in(services[0].nodes)
    if set(ordered) != levels:
        return None
    return _Shape(root, services[0], _resolver_of(services[0]) is profiles.Profile.active_services, ordered,
                  listed[0] if listed else None)


def _below(*fields: Any) -> Iterable[Any]:
    """The fields selected below these (not these)."""
    for f in fields:
        for child in f.children:
            yield child
            yield from _below(child)


def _resolver_of(f: Any) -> Any:
    """The function a field's resolver calls, or None for a field without one (or a plain method, which the
    plan calls directly)."""
    if f.basic or f.typename or f.direct is not None:
        return None
    return f.resolver.wrapped_func


def _argument_names(f: Any) -> set[str]:
    return {a.name.value for a in f.nodes[0].arguments or ()}
