"""GraphQL: customer profiles, identification, merge and extension records (same use cases as REST)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from graphql import FieldNode, IntValueNode, NullValueNode, StringValueNode, VariableNode
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from ucs_graphql.access import tasks as t
from ucs_graphql.context import Ctx
from ucs_graphql.graphql import interactions as interaction_types
from ucs_graphql.graphql import journeys
from ucs_graphql.graphql.connections import Connection
from ucs_graphql.graphql.context import Info, Loader
from ucs_graphql.graphql.nodes import Node
from ucs_graphql.graphql.permissions import needs
from ucs_graphql.identification import service as identification
from ucs_graphql.interactions import service as interaction_service
from ucs_graphql.interactions.store import Interaction as InteractionRecord
from ucs_graphql.journeys import batch
from ucs_graphql.journeys import service as journey_service
from ucs_graphql.journeys.store import Filters
from ucs_graphql.kit import pages
from ucs_graphql.kit.errors import NotFound, UcsError, UnreadableValue
from ucs_graphql.profiles import merge, service, view

ATTRIBUTES = "profile_attributes"
EXTENSIONS = "profile_extensions"


@dataclass(frozen=True)
class _Unreadable:
    """A customer that exists and whose attributes cannot all be decrypted: its `attributes` field fails, and
    nothing else (a loader would fail every load of the batch on an exception value)."""

    description: str


def _attributes_loader(ctx: Ctx) -> DataLoader[str, dict[str, Any] | _Unreadable | None]:
    async def load(ids: list[str]) -> list[dict[str, Any] | _Unreadable | None]:
        found = await service.load_attributes(ctx, ids)
        out: list[dict[str, Any] | _Unreadable | None] = []
        for cid in ids:
            got = found.get(cid)
            out.append(_Unreadable(got.description) if isinstance(got, UnreadableValue) else got)
        return out

    return Loader(load_fn=load)


def _extensions_loader(ctx: Ctx) -> DataLoader[tuple[str, tuple[str, ...]], dict[str, Any]]:
    async def load(keys: list[tuple[str, tuple[str, ...]]]) -> list[dict[str, Any] | UcsError]:
        return await service.load_extensions_each(ctx, keys)

    return Loader(load_fn=load)


SERVICES = "services_by_customer"
INTERACTIONS = "interactions_by_customer"


_ServicesKey = tuple[str, Filters, pages.Page, tuple[str, ...]]
_Services = tuple[list[dict[str, Any]], dict[str, dict[int, list[dict[str, Any]]]]]


def _services_loader(ctx: Ctx) -> DataLoader[_ServicesKey, _Services]:
    """Over (customer id, filters, page, levels read along) keys: a page of the customer's services, and the
    states and/or tasks of those services when `levels` names them (one statement per filter and page)."""
    async def load(keys: list[_ServicesKey]) -> list[_Services]:
        by_page: dict[tuple[Filters, pages.Page, tuple[str, ...]], list[str]] = {}
        for cid, f, page, levels in keys:
            by_page.setdefault((f, page, levels), []).append(cid)
        found = {}
        for (f, page, levels), cids in by_page.items():
            limit, after = page.first + 1, pages.int_key(page)
            found[(f, page, levels)] = (
                await batch.services_and_children_of_customers(ctx, cids, f, limit, after, levels) if levels
                else (await batch.services_of_customers(ctx, cids, f, limit, after), {}))
        return [(found[(f, page, levels)][0].get(cid, []), found[(f, page, levels)][1])
                for cid, f, page, levels in keys]

    return Loader(load_fn=load)


def _interactions_loader(ctx: Ctx) -> DataLoader[tuple[str, pages.Page], list[InteractionRecord]]:
    async def load(keys: list[tuple[str, pages.Page]]) -> list[list[InteractionRecord]]:
        by_page: dict[pages.Page, list[str]] = {}
        for cid, page in keys:
            by_page.setdefault(page, []).append(cid)
        found = {page: await interaction_service.interactions_of_customers(ctx, cids, page)
                 for page, cids in by_page.items()}
        return [found[page].get(cid, []) for cid, page in keys]

    return Loader(load_fn=load)


VIEWS = "customer_views"
_ViewSpec = tuple[Filters, pages.Page, tuple[str, ...], pages.Page | None]
"""What a profile's selection reads below it: its services' filters and page, the levels read along, and the
page of its interactions (None when not selected)."""


def _views_loader(ctx: Ctx) -> DataLoader[tuple[str, _ViewSpec], view.Views]:
    """Over (customer id, view spec) keys: the customer views of every customer of the batch asking the same
    spec (one statement per spec), or that spec's error."""
    async def load(keys: list[tuple[str, _ViewSpec]]) -> list[view.Views | UcsError]:
        by_spec: dict[_ViewSpec, list[str]] = {}
        for cid, spec in keys:
            by_spec.setdefault(spec, []).append(cid)
        found: dict[_ViewSpec, view.Views | UcsError] = {}
        for spec, cids in by_spec.items():
            try:
                found[spec] = await view.customer_views(ctx, cids, *spec)
            except UcsError as err:
                found[spec] = err
        return [found[spec] for _, spec in keys]

    return Loader(load_fn=load)


def _view_spec(info: Info) -> _ViewSpec | None:
    """What the profile field's selection reads below it through the services and interactions loaders, when
    one customer-view statement can read it with the profile: exactly one `activeServices` or `services` field
    (without status or type filters) and at most one `interactions` field, their arguments literals or
    variables, no fragment; None otherwise (or when an argument is one the field itself refuses)."""
    shape = journeys.by_nodes(info._raw_info.field_nodes, _view_shape)
    if shape is None:
        return None
    services, listed, levels = shape
    variables = info.variable_values
    try:
        got = _arguments(services, variables)
        f = batch.BY_STATUS["active"] if services.name.value == "activeServices" else journey_service.service_filters(
            info.context.ctx, journeys.ItemStatus.ALL.value, service_types=None)
        spage = pages.page(journeys.SERVICE_CURSOR, got.get("first", pages.DEFAULT_PAGE), got.get("after"))
        ipage = None
        if listed is not None:
            given = _arguments(listed, variables)
            ipage = pages.page(interaction_service.CURSOR, given.get("first", pages.DEFAULT_PAGE), given.get("after"),
                               parts=2)
    except (UcsError, _Unsupported):
        return None
    return f, spage, levels, ipage


def _view_shape(nodes: Sequence[FieldNode]) -> tuple[FieldNode, FieldNode | None, tuple[str, ...]] | None:
    """The services field, the interactions field and the levels read along of a profile field's selection,
    when a customer view can read it (`_view_spec`)."""
    if len(nodes) != 1 or nodes[0].selection_set is None:
        return None
    selections = [s for s in nodes[0].selection_set.selections if isinstance(s, FieldNode) and not s.directives]
    if len(selections) != len(nodes[0].selection_set.selections):
        return None
    services = [s for s in selections if s.name.value in ("activeServices", "services")]
    listed = [s for s in selections if s.name.value == "interactions"]
    if len(services) != 1 or len(listed) > 1:
        return None
    return services[0], listed[0] if listed else None, journeys.items_selected_in(services)


class _Unsupported(Exception):
    pass


def _arguments(node: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The `first` and `after` arguments given to a field (absent ones missing, as for the resolver);
    _Unsupported for any other argument or value."""
    out: dict[str, Any] = {}
    for arg in node.arguments or ():
        name, value = arg.name.value, arg.value
        if name not in ("first", "after"):
            raise _Unsupported
        if isinstance(value, VariableNode):
            if value.name.value in variables:
                out[name] = variables[value.name.value]
        elif isinstance(value, NullValueNode):
            out[name] = None
        elif isinstance(value, IntValueNode) and name == "first":
            out[name] = int(value.value)
        elif isinstance(value, StringValueNode) and name == "after":
            out[name] = value.value
        else:
            raise _Unsupported
    if not all(v is None or type(v) is (int if k == "first" else str) for k, v in out.items()):
        raise _Unsupported
    return out


async def _read_profiles(info: Info, customer_ids: list[str]) -> None:
    """When the profile field's selection asks for what a customer view reads (`_view_spec`), read it for these
    customers in one statement and hand each part to the loader that reads it apart (attributes, services
    with their states and tasks, interactions); otherwise, or when that read fails, leave them to those
    loaders, which then answer (or fail) field by field."""
    spec = _view_spec(info)
    ids = list(dict.fromkeys(customer_ids))
    if spec is None or not ids or len(ids) > view.MAX_CUSTOMERS:
        return
    try:
        loader = info.context.loader(VIEWS, _views_loader)
        # One customer (the `profile` field) awaits its load itself: no gathering future, a turn less.
        views = [await loader.load((ids[0], spec))] if len(ids) == 1 else await loader.load_many(
            [(cid, spec) for cid in ids])
    except UcsError:
        return
    found = views[0]
    f, spage, levels, ipage = spec
    attributes: dict[str, dict[str, Any] | _Unreadable | None] = {}
    for cid in ids:
        got = found.attributes.get(cid)
        attributes[cid] = _Unreadable(got.description) if isinstance(got, UnreadableValue) else got
    info.context.loader(ATTRIBUTES, _attributes_loader).prime_many(attributes)
    info.context.loader(SERVICES, _services_loader).prime_many(
        {(cid, f, spage, levels): (found.services.get(cid, []), found.children) for cid in ids})
    if ipage is not None:
        info.context.loader(INTERACTIONS, _interactions_loader).prime_many(
            {(cid, ipage): found.interactions.get(cid, []) for cid in ids})


def _fresh(info: Info) -> None:
    """Forget what this request's loaders read (a mutation changed it)."""
    for name in (ATTRIBUTES, EXTENSIONS, SERVICES, INTERACTIONS, VIEWS):
        info.context.loaders.pop(name, None)


@strawberry.enum
class IncludeExtensions(Enum):
    ALWAYS = "always"
    UNIQUE = "unique"


@strawberry.type(description="A customer profile; attributes and extensions are loaded in batches.")
class Profile(Node):
    customer_id: str
    default_extensions: strawberry.Private[tuple[str, ...]] = ()
    extensions_allowed: strawberry.Private[bool] = True

    def node_key(self) -> tuple[object, ...]:
        return ("Profile", self.customer_id)

    @strawberry.field(description="Attribute name -> value (an array when there are several, primary first).")
    async def attributes(self, info: Info) -> JSON:
        got = await info.context.loader(ATTRIBUTES, _attributes_loader).load(self.customer_id)
        if got is None:
            raise NotFound(f"customer '{self.customer_id}' does not exist")
        if isinstance(got, _Unreadable):
            raise UnreadableValue(got.description)
        return JSON(got)

    @strawberry.field(description="Extension name -> record (single-valued) or records (multi-valued); by default "
                                  "the extensions named on the root field. Null when includeExtensions=UNIQUE "
                                  "matched several customers.")
    async def extensions(self, info: Info, names: list[str] | None = None) -> JSON | None:
        if not self.extensions_allowed:
            return None
        wanted = tuple(names) if names is not None else self.default_extensions
        if not wanted:
            return JSON({})
        return JSON(await info.context.loader(EXTENSIONS, _extensions_loader).load((self.customer_id, wanted)))

    @strawberry.field(description="The customer's services, in id order (CV.WS.SRV.10).")
    async def services(
        self, info: Info, status: journeys.ItemStatus = journeys.ItemStatus.ALL,
        service_types: list[journeys.IdOrName] | None = None,  # type: ignore[valid-type]
        first: int | None = pages.DEFAULT_PAGE, after: str | None = None,
    ) -> Connection[journeys.Service]:
        f = journey_service.service_filters(info.context.ctx, status.value, service_types=service_types)
        return await self._services(info, f, first, after)

    @strawberry.field(description="The customer's active services, in id order.")
    async def active_services(self, info: Info, first: int | None = pages.DEFAULT_PAGE, after: str | None = None
                              ) -> Connection[journeys.Service]:
        return await self._services(info, batch.BY_STATUS["active"], first, after)

    async def _services(self, info: Info, f: Filters, first: int | None, after: str | None
                        ) -> Connection[journeys.Service]:
        return await services_page(info, self.customer_id, f, first, after)

    @strawberry.field(description="The customer's interactions, newest first (CV.WS.IXN.2).")
    async def interactions(self, info: Info, first: int | None = pages.DEFAULT_PAGE, after: str | None = None
                           ) -> Connection[interaction_types.Interaction]:
        page = pages.page(interaction_service.CURSOR, first, after, parts=2)
        rows = await info.context.loader(INTERACTIONS, _interactions_loader).load((self.customer_id, page))
        return interaction_types.interaction_connection(rows, page)


async def services_page(info: Info, customer_id: str, f: Filters, first: int | None, after: str | None
                        ) -> Connection[journeys.Service]:
    """A page of a customer's services (with or without a profile), through the request's loader."""
    page = pages.page(journeys.SERVICE_CURSOR, first, after)
    levels = journeys.items_selected(info)
    docs, children = await info.context.loader(SERVICES, _services_loader).load((customer_id, f, page, levels))
    journeys.prime_items(info, children, docs[:page.first])
    return journeys.service_connection(docs, page)


async def existing_profile(info: Info, customer_id: str) -> Profile | None:
    """The profile of a customer, or None when no profile has this id (read through the request's loader)."""
    if await info.context.loader(ATTRIBUTES, _attributes_loader).load(customer_id) is None:
        return None
    return _profile(customer_id)


def _profile(customer_id: str, extensions: Sequence[str] | None = None, allowed: bool = True) -> Profile:
    return Profile(customer_id=customer_id, default_extensions=tuple(extensions or ()), extensions_allowed=allowed)


@strawberry.type
class ProfileQuery:
    @strawberry.field(extensions=needs(t.READ_PROFILE), description="One customer profile (CV.WS.PROF.1).")
    async def profile(self, info: Info, customer_id: str, extensions: list[str] | None = None) -> Profile:
        await _read_profiles(info, [customer_id])
        if await info.context.loader(ATTRIBUTES, _attributes_loader).load(customer_id) is None:
            raise NotFound(f"customer '{customer_id}' does not exist")
        return _profile(customer_id, extensions)

    @strawberry.field(extensions=needs(t.READ_PROFILE),
                      description="Several customer profiles, in the order asked (null for an unknown id).")
    async def profiles(self, info: Info, customer_ids: list[str], extensions: list[str] | None = None
                       ) -> list[Profile | None]:
        await _read_profiles(info, customer_ids)
        found = await info.context.loader(ATTRIBUTES, _attributes_loader).load_many(customer_ids)
        return [_profile(cid, extensions) if got is not None else None for cid, got in zip(customer_ids, found,
                                                                                          strict=True)]

    @strawberry.field(extensions=needs(t.IDENTIFY_CUSTOMER),
                      description="Identify customers (CV.WS.CUSTID.1): attributes is an object of name -> value(s), "
                                  "extension attributes as ext.attr; idKey is chosen by the reference's algorithm "
                                  "when absent.")
    async def identify(
        self, info: Info, attributes: JSON, id_key: str | None = None, extensions: list[str] | None = None,
        include_extensions: IncludeExtensions = IncludeExtensions.ALWAYS,
    ) -> list[Profile]:
        found = await identification.identify(info.context.ctx, identification.attribute_values(attributes),
                                              id_key=id_key)
        allowed = include_extensions is IncludeExtensions.ALWAYS or len(found) == 1
        return [_profile(m["customer_id"], extensions, allowed) for m in found]


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(extensions=needs(t.CREATE_PROFILE), description="Create a customer profile (CV.WS.PROF.3).")
    async def create_profile(self, info: Info, profile: JSON) -> Profile:
        return _profile(await service.create_profile(info.context.ctx, profile))

    @strawberry.mutation(extensions=needs(t.UPDATE_PROFILE),
                         description="Replace a profile's attributes, and the extensions given (CV.WS.PROF.2).")
    async def update_profile(self, info: Info, customer_id: str, profile: JSON) -> Profile:
        await service.update_profile(info.context.ctx, customer_id, profile)
        _fresh(info)
        return _profile(customer_id)

    @strawberry.mutation(extensions=needs(t.DELETE_PROFILE), description="Delete a customer profile (CV.WS.PROF.8).")
    async def delete_profile(self, info: Info, customer_id: str) -> bool:
        await service.delete_profile(info.context.ctx, customer_id)
        _fresh(info)
        return True

    @strawberry.mutation(extensions=needs(t.MERGE_PROFILE),
                         description="Merge the source profile into the destination (CV.WS.PROF.MERGE.1).")
    async def merge_profiles(self, info: Info, customer_id: str, source_id: str, keep_uniq_from_src: bool = False,
                             keep_active_service_only: bool = False) -> Profile:
        await merge.merge_profiles(info.context.ctx, customer_id, source_id, {
            "keep_uniq_from_src": keep_uniq_from_src, "keep_active_service_only": keep_active_service_only})
        _fresh(info)
        return _profile(customer_id)

    @strawberry.mutation(extensions=needs(t.CREATE_PROFILE_EXTENSION),
                         description="Insert extension records: extension name -> record(s) (CV.WS.PROF.4).")
    async def insert_profile_extensions(self, info: Info, customer_id: str, extensions: JSON) -> Profile:
        await service.insert_extensions(info.context.ctx, customer_id, extensions)
        _fresh(info)
        return _profile(customer_id)

    @strawberry.mutation(extensions=needs(t.UPDATE_PROFILE_EXTENSION),
                         description="Update the record its unique attributes select (CV.WS.PROF.6).")
    async def update_profile_extension_record(self, info: Info, customer_id: str, extension: str,
                                              record: JSON) -> bool:
        await service.update_extension_record(info.context.ctx, customer_id, extension, record)
        _fresh(info)
        return True

    @strawberry.mutation(extensions=needs(t.DELETE_PROFILE_EXTENSION),
                         description="Delete the record its unique attributes select (CV.WS.PROF.7).")
    async def delete_profile_extension_record(self, info: Info, customer_id: str, extension: str,
                                              record: JSON) -> bool:
        await service.delete_extension_record(info.context.ctx, customer_id, extension, record)
        _fresh(info)
        return True
