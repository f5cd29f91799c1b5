"""GraphQL: services with nested states and tasks, their writes, and live journey events.

Same use cases as the CV.WS.SRV.* operations; nested lists and extensions go through per-request DataLoaders.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NewType, TypeVar, cast

import strawberry
from graphql import FieldNode
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from ucs_graphql.access import tasks as t
from ucs_graphql.context import Ctx
from ucs_graphql.events.bus import Event
from ucs_graphql.graphql import interactions as interaction_types
from ucs_graphql.graphql.connections import Connection, connection
from ucs_graphql.graphql.context import Info, Loader
from ucs_graphql.graphql.nodes import Node
from ucs_graphql.graphql.permissions import needs
from ucs_graphql.interactions import service as interaction_service
from ucs_graphql.journeys import batch, extensions, service, states, tasks
from ucs_graphql.journeys.common import Include
from ucs_graphql.journeys.store import Filters
from ucs_graphql.kit import pages
from ucs_graphql.kit.errors import BadParameter, UcsError
from ucs_graphql.metadata.model import INT64

if TYPE_CHECKING:
    from ucs_graphql.graphql.profiles import Profile

T = TypeVar("T")

N = TypeVar("N")


def _long(value: Any) -> int:
    """A Long's value: an integer (or its digits in a string) within 64 bits, else the client's BadParameter."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadParameter("Long", f"'{value}' is not an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise BadParameter("Long", f"'{value}' is not an integer") from exc
    if not INT64[0] <= number <= INT64[1]:
        raise BadParameter("Long", f"'{value}' is not a 64-bit integer (at most {INT64[1]})")
    return number


def _id_or_name(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadParameter("IdOrName", f"'{value}' is neither an id nor a name")
    return value


# Defined on their types (the schema's scalar_map is shared by every context): the deprecation of this
# form is about type checkers, which the valid-type ignores below answer.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    Long = strawberry.scalar(NewType("Long", int), serialize=int, parse_value=_long,
                             description="A 64-bit integer (service ids).")
    IdOrName = strawberry.scalar(NewType("IdOrName", object), serialize=lambda v: v, parse_value=_id_or_name,
                                 description="A business-attribute value: an integer id, or a name.")


@strawberry.enum
class ItemStatus(Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ALL = "all"


@strawberry.enum
class JourneyLevel(Enum):
    SERVICE = "service"
    STATE = "state"
    TASK = "task"


@strawberry.type(description="A start or end event of a service, state or task.")
class LifecycleEvent:
    timestamp: str
    session_id: str | None = None
    interaction_id: str | None = None
    application_type: IdOrName | None = None  # type: ignore[valid-type]
    application_id: Long | None = None  # type: ignore[valid-type]
    resource_type: IdOrName | None = None  # type: ignore[valid-type]
    resource_id: Long | None = None  # type: ignore[valid-type]
    media_type: IdOrName | None = None  # type: ignore[valid-type]
    previous_state_id: int | None = None

    @classmethod
    def of(cls, doc: dict[str, Any] | None) -> LifecycleEvent | None:
        return cls(**doc) if doc is not None else None


def _loader(info: Info, name: str, load: Callable[[Ctx, list[Any]], Any]) -> DataLoader[Any, Any]:
    def factory(ctx: Ctx) -> DataLoader[Any, Any]:
        async def load_fn(keys: list[Any]) -> list[Any]:
            return await load(ctx, keys)

        return Loader(load_fn=load_fn)

    return info.context.loader(name, factory)


ITEMS = "journey_items"


async def _items(ctx: Ctx, keys: list[tuple[str, str, int, Filters]]) -> list[list[dict[str, Any]]]:
    """The request's loader of states and tasks over (level, owner column, owner id, Filters) keys: one
    statement for every level, owner column and filter asked in the same turn."""
    groups: dict[tuple[str, str, Filters], list[int]] = {}
    for level, by, owner, f in keys:
        groups.setdefault((level, by, f), []).append(owner)
    found = await batch.children_of_groups(ctx, [(level, by, owners, f) for (level, by, f), owners in groups.items()])
    docs = dict(zip(groups, found, strict=True))
    return [docs[(level, by, f)].get(owner, []) for level, by, owner, f in keys]


def _children(info: Info, level: str, by: str, owner: int, f: Filters) -> Awaitable[list[dict[str, Any]]]:
    """The wire states or tasks whose `by` column is `owner`, matching `f`, through the request's loader."""
    loaded: Awaitable[list[dict[str, Any]]] = _loader(info, ITEMS, _items).load((level, by, owner, f))
    return loaded


def items_selected(info: Info) -> tuple[str, ...]:
    """Which of "state" and "task" a field returning a service connection will read for every service of its
    page: `edges { node { states tasks } }` asked without arguments and without fragments (their loads then
    read nothing: `prime_items`)."""
    return items_selected_in(info._raw_info.field_nodes)


def items_selected_in(field_nodes: Sequence[FieldNode]) -> tuple[str, ...]:
    """`items_selected` of the nodes of a field returning a service connection (remembered for the nodes of
    the cached documents clients send again and again)."""
    return by_nodes(field_nodes, _items_selected)


_BY_NODES: dict[tuple[Callable[..., Any], tuple[int, ...]], tuple[tuple[FieldNode, ...], Any]] = {}
_BY_NODES_MAX = 256  # entries; each holds its document alive


def by_nodes(field_nodes: Sequence[FieldNode], walk: Callable[[Sequence[FieldNode]], T]) -> T:
    """`walk(field_nodes)`, a function of the nodes' selections only, remembered by the nodes' identity (the
    nodes are kept with it, so an identity is never another node's)."""
    key = (walk, tuple(map(id, field_nodes)))
    got = _BY_NODES.get(key)
    if got is not None and all(a is b for a, b in zip(got[0], field_nodes, strict=True)):
        return cast(T, got[1])
    value = walk(field_nodes)
    if len(_BY_NODES) >= _BY_NODES_MAX:
        _BY_NODES.clear()
    _BY_NODES[key] = (tuple(field_nodes), value)
    return value


def _items_selected(field_nodes: Sequence[FieldNode]) -> tuple[str, ...]:
    wanted: set[str] = set()
    for edges in _plain_fields(field_nodes, "edges"):
        for node in _plain_fields([edges], "node"):
            wanted.update(LEVEL_OF_LIST[f.name.value] for f in _plain_fields([node], *LEVEL_OF_LIST)
                          if not f.arguments)
    return tuple(level for level in ("state", "task") if level in wanted)


LEVEL_OF_LIST = {"states": "state", "tasks": "task"}


def _plain_fields(parents: Sequence[Any], *names: str) -> list[Any]:
    """The fields called one of `names` selected under `parents` (none when a selection has a fragment)."""
    out: list[Any] = []
    for parent in parents:
        selections = parent.selection_set.selections if parent.selection_set else ()
        if any(not isinstance(s, FieldNode) for s in selections):
            return []
        out.extend(s for s in selections if s.name.value in names)
    return out


def prime_items(info: Info, children: dict[str, dict[int, list[dict[str, Any]]]], docs: Sequence[dict[str, Any]]
                ) -> None:
    """Hand the request's loader of states and tasks what was read along with these services, as the loads
    of `Service.states` and `Service.tasks` without arguments ask for it."""
    if not children:
        return
    loader = _loader(info, ITEMS, _items)
    every = batch.BY_STATUS["all"]
    loader.prime_many({(level, "service_id", d["service_id"], every): found.get(d["service_id"], [])
                       for level, found in children.items() for d in docs})


async def _interactions_of_services(ctx: Ctx, keys: list[tuple[int, pages.Page]]) -> list[Any]:
    by_page: dict[pages.Page, list[int]] = {}
    for owner, page in keys:
        by_page.setdefault(page, []).append(owner)
    found = {p: await interaction_service.interactions_of_services(ctx, owners, p) for p, owners in by_page.items()}
    return [found[page].get(owner, []) for owner, page in keys]


def service_loader(info: Info) -> DataLoader[int, dict[str, Any] | None]:
    """The request's loader of wire services by id (None for an absent one)."""
    async def load(ctx: Ctx, keys: list[int]) -> list[dict[str, Any] | None]:
        found = await service.services_by_ids(ctx, keys)
        return [found.get(k) for k in keys]

    return _loader(info, "services", load)


SERVICE_CURSOR = "service"
STATE_CURSOR = "state"
TASK_CURSOR = "task"


def service_connection(docs: Sequence[dict[str, Any]], page: pages.Page) -> Connection[Service]:
    """The connection of a page of wire services read with one more than asked."""
    return connection(docs, page, lambda d: pages.encode(SERVICE_CURSOR, d["service_id"]), Service.of)


def paged(docs: Sequence[dict[str, Any]], page: pages.Page, kind: str, id_col: str, of: Callable[[dict[str, Any]], N]
          ) -> Connection[N]:
    """The connection of a page of a list read whole (a service's states or tasks, the anonymous services of a
    contact key), in id order (the order they were started in): the items after the cursor's id."""
    after = pages.int_key(page)
    rows = sorted((d for d in docs if after is None or d[id_col] > after), key=lambda d: d[id_col])
    return connection(rows[:page.first + 1], page, lambda d: pages.encode(kind, d[id_col]), of)


def _extensions_loader(level: str) -> Callable[[Ctx, list[Any]], Any]:
    async def load(ctx: Ctx, keys: list[tuple[int, tuple[str, ...] | None]]) -> list[dict[str, Any] | UcsError]:
        return await batch.extensions_each(ctx, level, keys)

    return load


async def _extensions(info: Info, level: str, owner: int, names: list[str] | None) -> JSON:
    key = (owner, tuple(names) if names is not None else None)
    return JSON(await _loader(info, f"{level}_extensions", _extensions_loader(level)).load(key))


_INT_DURATION = "An Int holds at most 24.8 days of milliseconds: use {} (a Long)."


@strawberry.type(description="Common fields of services, states and tasks.")
class JourneyItem:
    service_id: Long  # type: ignore[valid-type]
    est_duration: int | None = strawberry.field(
        description="Estimated milliseconds (a 32-bit Int).", deprecation_reason=_INT_DURATION.format("estDurationMs"))
    duration: int | None = strawberry.field(
        description="Milliseconds, on completed items (a 32-bit Int).",
        deprecation_reason=_INT_DURATION.format("durationMs"))
    disposition: IdOrName | None  # type: ignore[valid-type]
    disposition_desc: str | None
    started: LifecycleEvent
    completed: LifecycleEvent | None

    @strawberry.field(description="Estimated milliseconds, as given at start or association.")
    def est_duration_ms(self) -> Long | None:  # type: ignore[valid-type]
        return self.est_duration

    @strawberry.field(description="Milliseconds from start to completion, on completed items.")
    def duration_ms(self) -> Long | None:  # type: ignore[valid-type]
        return self.duration


def _common(doc: dict[str, Any]) -> dict[str, Any]:
    return {"service_id": doc["service_id"], "est_duration": doc.get("est_duration"),
            "duration": doc.get("duration"), "disposition": doc.get("disposition"),
            "disposition_desc": doc.get("disposition_desc"), "started": LifecycleEvent.of(doc["started"]),
            "completed": LifecycleEvent.of(doc.get("completed"))}


@strawberry.type(description="A task of a service, possibly within one of its states.")
class Task(JourneyItem, Node):
    task_id: int
    task_type: IdOrName  # type: ignore[valid-type]
    state_id: int | None

    def node_key(self) -> tuple[object, ...]:
        return ("Task", self.service_id, self.task_id)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Task:
        return cls(task_id=doc["task_id"], task_type=doc["task_type"], state_id=doc.get("state_id"), **_common(doc))

    @strawberry.field(description="Task extensions by name (all of them when names is absent).")
    async def extensions(self, info: Info, names: list[str] | None = None) -> JSON:
        return await _extensions(info, "task", self.task_id, names)

    @strawberry.field(description="The state the task was started within (null for a task of the service).")
    async def state(self, info: Info) -> State | None:
        return None if self.state_id is None else await state_node(info, self.service_id, self.state_id)


@strawberry.type(description="A state of a service.")
class State(JourneyItem, Node):
    state_id: int
    state_type: IdOrName  # type: ignore[valid-type]

    def node_key(self) -> tuple[object, ...]:
        return ("State", self.service_id, self.state_id)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> State:
        return cls(state_id=doc["state_id"], state_type=doc["state_type"], **_common(doc))

    @strawberry.field(description="The state this one followed, when known.")
    def previous_state_id(self) -> int | None:
        return self.started.previous_state_id

    @strawberry.field(description="Tasks started within this state.")
    async def tasks(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                    types: list[IdOrName] | None = None) -> list[Task]:  # type: ignore[valid-type]
        f = batch.item_filters(info.context.ctx, "task", status.value, types)
        docs = await _children(info, "task", "state_id", self.state_id, f)
        return [Task.of(d) for d in docs]

    @strawberry.field(description="Tasks started within this state, a page at a time, in start order.")
    async def task_connection(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                              types: list[IdOrName] | None = None,  # type: ignore[valid-type]
                              first: int | None = pages.DEFAULT_PAGE, after: str | None = None) -> Connection[Task]:
        page = pages.page(TASK_CURSOR, first, after)
        f = batch.item_filters(info.context.ctx, "task", status.value, types)
        docs = await _children(info, "task", "state_id", self.state_id, f)
        return paged(docs, page, TASK_CURSOR, "task_id", Task.of)

    @strawberry.field(description="State extensions by name (all of them when names is absent).")
    async def extensions(self, info: Info, names: list[str] | None = None) -> JSON:
        return await _extensions(info, "state", self.state_id, names)


@strawberry.type(description="A service: a customer commitment spanning interactions, with states and tasks.")
class Service(JourneyItem, Node):
    service_type: IdOrName  # type: ignore[valid-type]
    customer_id: str | None = strawberry.field(description="Absent on anonymous services.")
    contact_key: str | None

    def node_key(self) -> tuple[object, ...]:
        return ("Service", self.service_id)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Service:
        return cls(service_type=doc["service_type"], customer_id=doc.get("customer_id"),
                   contact_key=doc.get("contact_key"), **_common(doc))

    @strawberry.field(description="States of the service.")
    async def states(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                     types: list[IdOrName] | None = None) -> list[State]:  # type: ignore[valid-type]
        f = batch.item_filters(info.context.ctx, "state", status.value, types)
        docs = await _children(info, "state", "service_id", self.service_id, f)
        return [State.of(d) for d in docs]

    @strawberry.field(description="Tasks of the service, those started within a state included.")
    async def tasks(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                    types: list[IdOrName] | None = None,  # type: ignore[valid-type]
                    state_id: int | None = None) -> list[Task]:
        f = batch.item_filters(info.context.ctx, "task", status.value, types, state_id)
        docs = await _children(info, "task", "service_id", self.service_id, f)
        return [Task.of(d) for d in docs]

    @strawberry.field(description="States of the service, a page at a time, in start order.")
    async def state_connection(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                               types: list[IdOrName] | None = None,  # type: ignore[valid-type]
                               first: int | None = pages.DEFAULT_PAGE, after: str | None = None) -> Connection[State]:
        page = pages.page(STATE_CURSOR, first, after)
        f = batch.item_filters(info.context.ctx, "state", status.value, types)
        docs = await _children(info, "state", "service_id", self.service_id, f)
        return paged(docs, page, STATE_CURSOR, "state_id", State.of)

    @strawberry.field(description="Tasks of the service (those started within a state included), a page at a "
                                  "time, in start order.")
    async def task_connection(self, info: Info, status: ItemStatus = ItemStatus.ALL,
                              types: list[IdOrName] | None = None,  # type: ignore[valid-type]
                              state_id: int | None = None, first: int | None = pages.DEFAULT_PAGE,
                              after: str | None = None) -> Connection[Task]:
        page = pages.page(TASK_CURSOR, first, after)
        f = batch.item_filters(info.context.ctx, "task", status.value, types, state_id)
        docs = await _children(info, "task", "service_id", self.service_id, f)
        return paged(docs, page, TASK_CURSOR, "task_id", Task.of)

    @strawberry.field(description="Service extensions by name (all of them when names is absent).")
    async def extensions(self, info: Info, names: list[str] | None = None) -> JSON:
        return await _extensions(info, "service", self.service_id, names)

    @strawberry.field(description="The customer the service belongs to (null on anonymous services).")
    async def customer(self, info: Info) -> Annotated[Profile, strawberry.lazy("ucs_graphql.graphql.profiles")] | None:
        from ucs_graphql.graphql.profiles import existing_profile

        return None if self.customer_id is None else await existing_profile(info, self.customer_id)

    @strawberry.field(description="Interactions of the service (ingested with its id or named by its events), "
                                  "newest first.")
    async def interactions(self, info: Info, first: int | None = pages.DEFAULT_PAGE, after: str | None = None
                           ) -> Connection[interaction_types.Interaction]:
        page = pages.page(interaction_service.CURSOR, first, after, parts=2)
        rows = await _loader(info, "interactions_by_service", _interactions_of_services).load(
            (self.service_id, page))
        return interaction_types.interaction_connection(rows, page)


async def state_node(info: Info, service_id: int, state_id: int) -> State | None:
    """A state of a service through the request's loader (None when the service has no such state)."""
    docs = await _children(info, "state", "state_id", state_id, Filters())
    return State.of(docs[0]) if docs and docs[0]["service_id"] == service_id else None


async def task_node(info: Info, service_id: int, task_id: int) -> Task | None:
    """A task of a service through the request's loader (None when the service has no such task)."""
    docs = await _children(info, "task", "task_id", task_id, Filters())
    return Task.of(docs[0]) if docs and docs[0]["service_id"] == service_id else None


async def service_node(info: Info, service_id: int) -> Service | None:
    """A service through the request's loader (None when the tenant has none with this id)."""
    doc = await service_loader(info).load(service_id)
    return None if doc is None else Service.of(doc)


@strawberry.enum
class JourneyEventKind(Enum):
    SERVICE_STARTED = "service_started"
    SERVICE_ASSOCIATED = "service_associated"
    SERVICE_COMPLETED = "service_completed"
    STATE_STARTED = "state_started"
    STATE_COMPLETED = "state_completed"
    STATE_TRANSITION = "state_transition"
    TASK_STARTED = "task_started"
    TASK_COMPLETED = "task_completed"


@strawberry.type(description="A committed change of a service, one of its states or tasks.")
class JourneyEvent:
    kind: JourneyEventKind
    service_id: Long  # type: ignore[valid-type]
    customer_id: str | None
    timestamp: str
    state_id: int | None
    task_id: int | None
    from_state_id: int | None = strawberry.field(description="On transitions: the state completed.")

    @classmethod
    def of(cls, e: Event) -> JourneyEvent:
        return cls(kind=JourneyEventKind(e.kind), service_id=e.service_id, customer_id=e.customer_id,
                   timestamp=e.timestamp, state_id=e.state_id, task_id=e.task_id, from_state_id=e.from_state_id)

    @strawberry.field(description="The service as it is now (null when it was deleted since).")
    async def service(self, info: Info) -> Service | None:
        doc = await service_loader(info).load(self.service_id)
        return Service.of(doc) if doc is not None else None


# --- inputs: converted to the REST body the use cases read ---

@strawberry.input(description="Fields of a start or end event.")
class EventInput:
    timestamp: str | None = None
    session_id: str | None = None
    interaction_id: str | None = None
    application_type: IdOrName | None = None  # type: ignore[valid-type]
    application_id: Long | None = None  # type: ignore[valid-type]
    resource_type: IdOrName | None = None  # type: ignore[valid-type]
    resource_id: Long | None = None  # type: ignore[valid-type]
    media_type: IdOrName | None = None  # type: ignore[valid-type]
    extensions: JSON | None = strawberry.field(default=None, description="Extension name → record or records.")


@strawberry.input
class ServiceStartInput(EventInput):
    service_type: IdOrName  # type: ignore[valid-type]
    customer_id: str | None = None
    contact_key: str | None = None
    est_duration: int | None = strawberry.field(default=None, description="Estimated milliseconds (a 32-bit "
                                                                         "Int; estDurationMs takes any).")
    est_duration_ms: Long | None = strawberry.field(default=None, description="Estimated milliseconds.")  # type: ignore[valid-type]


@strawberry.input
class ServiceAssociateInput(EventInput):
    service_type: IdOrName | None = None  # type: ignore[valid-type]
    contact_key: str | None = None
    est_duration: int | None = strawberry.field(default=None, description="Estimated milliseconds (a 32-bit "
                                                                         "Int; estDurationMs takes any).")
    est_duration_ms: Long | None = strawberry.field(default=None, description="Estimated milliseconds.")  # type: ignore[valid-type]


@strawberry.input
class EndInput(EventInput):
    disposition: IdOrName | None = None  # type: ignore[valid-type]
    disposition_desc: str | None = None


@strawberry.input
class StateStartInput(EventInput):
    state_type: IdOrName  # type: ignore[valid-type]
    previous_state_id: int | None = None
    est_duration: int | None = strawberry.field(default=None, description="Estimated milliseconds (a 32-bit "
                                                                         "Int; estDurationMs takes any).")
    est_duration_ms: Long | None = strawberry.field(default=None, description="Estimated milliseconds.")  # type: ignore[valid-type]


@strawberry.input
class TransitionFromInput:
    state_id: int
    disposition: IdOrName | None = None  # type: ignore[valid-type]
    disposition_desc: str | None = None
    extensions: JSON | None = None


@strawberry.input
class TransitionToInput:
    state_type: IdOrName  # type: ignore[valid-type]
    est_duration: int | None = strawberry.field(default=None, description="Estimated milliseconds (a 32-bit "
                                                                         "Int; estDurationMs takes any).")
    est_duration_ms: Long | None = strawberry.field(default=None, description="Estimated milliseconds.")  # type: ignore[valid-type]
    extensions: JSON | None = None


@strawberry.input
class TransitionInput(EventInput):
    from_: TransitionFromInput = strawberry.field(name="from")
    to: TransitionToInput


@strawberry.input
class TaskStartInput(EventInput):
    task_type: IdOrName  # type: ignore[valid-type]
    state_id: int | None = None
    est_duration: int | None = strawberry.field(default=None, description="Estimated milliseconds (a 32-bit "
                                                                         "Int; estDurationMs takes any).")
    est_duration_ms: Long | None = strawberry.field(default=None, description="Estimated milliseconds.")  # type: ignore[valid-type]


_BODY_NAMES = {"from_": "from", "est_duration_ms": "est_duration"}


def body(value: Any) -> dict[str, Any]:
    """The REST body of an input: its set fields (snake_case) and its extensions at the top level."""
    if value is None:
        return {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        if v is None or f.name == "extensions":
            continue
        name = _BODY_NAMES.get(f.name, f.name)
        if name in out:
            raise BadParameter(name, f"give {name} once (estDuration or estDurationMs)")
        out[name] = body(v) if dataclasses.is_dataclass(v) else v
    exts = getattr(value, "extensions", None)
    if exts is not None:
        if not isinstance(exts, dict):
            raise BadParameter("extensions", "extensions must be an object of extension name → record(s)")
        out.update(exts)
    return out


def _inc() -> Include:
    return Include()


def _status(status: ItemStatus) -> str:
    return status.value


@strawberry.type(description="How many of the tenant's services of one type are active.")
class ServiceTypeCount:
    service_type: IdOrName  # type: ignore[valid-type]
    count: int


@strawberry.type
class JourneyQuery:
    @strawberry.field(extensions=needs(t.READ_SERVICE),
                      description="How many services of the tenant are active, by service type, most first (one "
                                  "statement over the tenant's services).")
    async def active_service_counts(self, info: Info) -> list[ServiceTypeCount]:
        counts = await service.active_service_counts(info.context.ctx)
        return [ServiceTypeCount(service_type=kind, count=n) for kind, n in counts]

    @strawberry.field(extensions=needs(t.READ_SERVICE), description="One service (CV.WS.SRV.14).")
    async def service(self, info: Info, service_id: Long) -> Service:  # type: ignore[valid-type]
        return Service.of(await service.get_service(info.context.ctx, service_id, _inc()))

    @strawberry.field(extensions=needs(t.READ_SERVICE), description="A customer's services (CV.WS.SRV.10).")
    async def customer_services(
        self, info: Info, customer_id: str, status: ItemStatus = ItemStatus.ALL,
        service_types: list[IdOrName] | None = None,  # type: ignore[valid-type]
        started_from: str | None = None, started_to: str | None = None, completed_from: str | None = None,
        completed_to: str | None = None,
    ) -> list[Service]:
        ctx = info.context.ctx
        f = service.service_filters(ctx, _status(status), service_types=service_types, started_from=started_from,
                                    started_to=started_to, completed_from=completed_from, completed_to=completed_to)
        return [Service.of(d) for d in await service.query_services(ctx, f, _inc(), customer_id=customer_id)]

    @strawberry.field(extensions=needs(t.READ_SERVICE),
                      description="A customer's services (whether or not a profile has that id), a page at a time, "
                                  "in id order.")
    async def customer_service_connection(
        self, info: Info, customer_id: str, status: ItemStatus = ItemStatus.ALL,
        service_types: list[IdOrName] | None = None,  # type: ignore[valid-type]
        first: int | None = pages.DEFAULT_PAGE, after: str | None = None,
    ) -> Connection[Service]:
        from ucs_graphql.graphql.profiles import services_page

        f = service.service_filters(info.context.ctx, status.value, service_types=service_types)
        return await services_page(info, customer_id, f, first, after)

    @strawberry.field(extensions=needs(t.READ_SERVICE),
                      description="Anonymous services of a contact key (CV.WS.SRV.10).")
    async def anonymous_services(
        self, info: Info, contact_key: str, status: ItemStatus = ItemStatus.ALL,
        service_types: list[IdOrName] | None = None,  # type: ignore[valid-type]
        started_from: str | None = None, started_to: str | None = None, completed_from: str | None = None,
        completed_to: str | None = None,
    ) -> list[Service]:
        ctx = info.context.ctx
        f = service.service_filters(ctx, _status(status), service_types=service_types, started_from=started_from,
                                    started_to=started_to, completed_from=completed_from, completed_to=completed_to)
        return [Service.of(d) for d in await service.query_services(ctx, f, _inc(), contact_key=contact_key)]

    @strawberry.field(extensions=needs(t.READ_SERVICE),
                      description="Anonymous services of a contact key, a page at a time, in id order.")
    async def anonymous_service_connection(
        self, info: Info, contact_key: str, status: ItemStatus = ItemStatus.ALL,
        service_types: list[IdOrName] | None = None,  # type: ignore[valid-type]
        first: int | None = pages.DEFAULT_PAGE, after: str | None = None,
    ) -> Connection[Service]:
        page = pages.page(SERVICE_CURSOR, first, after)
        ctx = info.context.ctx
        f = service.service_filters(ctx, _status(status), service_types=service_types)
        docs = await service.query_services(ctx, f, _inc(), contact_key=contact_key)
        return paged(docs, page, SERVICE_CURSOR, "service_id", Service.of)

    @strawberry.field(extensions=needs(t.READ_STATE), description="States of a service (CV.WS.SRV.12).")
    async def states(self, info: Info, service_id: Long, status: ItemStatus = ItemStatus.ALL,  # type: ignore[valid-type]
                     types: list[IdOrName] | None = None) -> list[State]:  # type: ignore[valid-type]
        docs = await states.query_states(info.context.ctx, service_id, _status(status), types, _inc())
        return [State.of(d) for d in docs]

    @strawberry.field(extensions=needs(t.READ_STATE), description="One state of a service (CV.WS.SRV.15).")
    async def state(self, info: Info, service_id: Long, state_id: int) -> State:  # type: ignore[valid-type]
        return State.of(await states.get_state(info.context.ctx, service_id, state_id, _inc()))

    @strawberry.field(extensions=needs(t.READ_TASK), description="Tasks of a service (CV.WS.SRV.13).")
    async def tasks(self, info: Info, service_id: Long, status: ItemStatus = ItemStatus.ALL,  # type: ignore[valid-type]
                    types: list[IdOrName] | None = None,  # type: ignore[valid-type]
                    state_id: int | None = None) -> list[Task]:
        docs = await tasks.query_tasks(info.context.ctx, service_id, _status(status), types, state_id, None)
        return [Task.of(d) for d in docs]

    @strawberry.field(extensions=needs(t.READ_TASK), description="One task of a service (CV.WS.SRV.16).")
    async def task(self, info: Info, service_id: Long, task_id: int) -> Task:  # type: ignore[valid-type]
        return Task.of(await tasks.get_task(info.context.ctx, service_id, task_id, None))


async def _service(ctx: Ctx, service_id: int) -> Service:
    return Service.of(await service.get_service(ctx, service_id, _inc()))


async def _state(ctx: Ctx, service_id: int, state_id: int) -> State:
    return State.of(await states.get_state(ctx, service_id, state_id, _inc()))


async def _task(ctx: Ctx, service_id: int, task_id: int) -> Task:
    return Task.of(await tasks.get_task(ctx, service_id, task_id, None))


_EXT_OPS: dict[str, Any] = {"replace": extensions.replace_extension, "update": extensions.update_record,
                            "delete": extensions.delete_record}


async def _extension_op(info: Info, op: str, level: JourneyLevel, service_id: int, item_id: int | None, name: str,
                        value: Any) -> bool:
    await _EXT_OPS[op](info.context.ctx, level.value, service_id, item_id, name, value)
    return True


@strawberry.type
class JourneyMutation:
    @strawberry.mutation(extensions=needs(t.START_SERVICE), description="Start a service (CV.WS.SRV.1).")
    async def start_service(self, info: Info, input: ServiceStartInput) -> Service:
        ctx = info.context.ctx
        return await _service(ctx, await service.start_service(ctx, body(input)))

    @strawberry.mutation(extensions=needs(t.ASSOCIATE_SERVICE),
                         description="Give a service to a customer, updating start fields (CV.WS.SRV.2).")
    async def associate_service(self, info: Info, customer_id: str, service_id: Long,  # type: ignore[valid-type]
                                input: ServiceAssociateInput | None = None) -> Service:
        ctx = info.context.ctx
        await service.associate_service(ctx, customer_id, service_id, body(input))
        return await _service(ctx, service_id)

    @strawberry.mutation(extensions=needs(t.COMPLETE_SERVICE), description="Complete a service (CV.WS.SRV.3).")
    async def complete_service(self, info: Info, service_id: Long,  # type: ignore[valid-type]
                               input: EndInput | None = None) -> Service:
        ctx = info.context.ctx
        await service.complete_service(ctx, service_id, body(input))
        return await _service(ctx, service_id)

    @strawberry.mutation(extensions=needs(t.START_STATE), description="Start a state (CV.WS.SRV.5).")
    async def start_state(self, info: Info, service_id: Long, input: StateStartInput) -> State:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _state(ctx, service_id, await states.start_state(ctx, service_id, body(input)))

    @strawberry.mutation(extensions=needs(t.COMPLETE_STATE), description="Complete a state (CV.WS.SRV.6).")
    async def complete_state(self, info: Info, service_id: Long, state_id: int,  # type: ignore[valid-type]
                             input: EndInput | None = None) -> State:
        ctx = info.context.ctx
        await states.complete_state(ctx, service_id, state_id, body(input))
        return await _state(ctx, service_id, state_id)

    @strawberry.mutation(extensions=needs(t.START_STATE),
                         description="Complete one state and start the next in one transaction (CV.WS.SRV.7); "
                                     "returns the new state.")
    async def transition_state(self, info: Info, service_id: Long,  # type: ignore[valid-type]
                               input: TransitionInput) -> State:
        ctx = info.context.ctx
        return await _state(ctx, service_id, await states.transition(ctx, service_id, body(input)))

    @strawberry.mutation(extensions=needs(t.START_TASK), description="Start a task (CV.WS.SRV.8).")
    async def start_task(self, info: Info, service_id: Long, input: TaskStartInput) -> Task:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _task(ctx, service_id, await tasks.start_task(ctx, service_id, body(input)))

    @strawberry.mutation(extensions=needs(t.COMPLETE_TASK), description="Complete a task (CV.WS.SRV.9).")
    async def complete_task(self, info: Info, service_id: Long, task_id: int,  # type: ignore[valid-type]
                            input: EndInput | None = None) -> Task:
        ctx = info.context.ctx
        await tasks.complete_task(ctx, service_id, task_id, body(input))
        return await _task(ctx, service_id, task_id)

    @strawberry.mutation(extensions=needs(t.CREATE_SERVICE_EXTENSION),
                         description="Replace an extension of a service, state or task (CV.WS.SRV.4/17/18); "
                                     "itemId names the state or task.")
    async def replace_journey_extension(self, info: Info, level: JourneyLevel, service_id: Long,  # type: ignore[valid-type]
                                        name: str, records: JSON, item_id: int | None = None) -> bool:
        return await _extension_op(info, "replace", level, service_id, item_id, name, records)

    @strawberry.mutation(extensions=needs(t.CREATE_SERVICE_EXTENSION),
                         description="Update the record its unique attributes select (CV.WS.SRV.19/20/21).")
    async def update_journey_extension_record(self, info: Info, level: JourneyLevel, service_id: Long,  # type: ignore[valid-type]
                                              name: str, record: JSON, item_id: int | None = None) -> bool:
        return await _extension_op(info, "update", level, service_id, item_id, name, record)

    @strawberry.mutation(extensions=needs(t.DELETE_SERVICE_EXTENSION),
                         description="Delete the record its unique attributes select (CV.WS.SRV.22/23/24).")
    async def delete_journey_extension_record(self, info: Info, level: JourneyLevel, service_id: Long,  # type: ignore[valid-type]
                                              name: str, record: JSON, item_id: int | None = None) -> bool:
        return await _extension_op(info, "delete", level, service_id, item_id, name, record)


@strawberry.type
class JourneySubscription:
    @strawberry.subscription(extensions=needs(t.READ_SERVICE),
                             description="Journey events as they are committed, for one customer or one service "
                                         "(every event of the tenant when neither is given).")
    async def journey_events(self, info: Info, customer_id: str | None = None,
                             service_id: Long | None = None) -> AsyncGenerator[JourneyEvent, None]:  # type: ignore[valid-type]
        async for event in batch.follow(info.context.ctx, customer_id, service_id):
            yield JourneyEvent.of(event)


__all__: Sequence[str] = ("JourneyMutation", "JourneyQuery", "JourneySubscription")
