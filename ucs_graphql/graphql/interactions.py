"""GraphQL: interactions (same use cases as X.IXN.CREATE and CV.WS.IXN.2), content fields loaded lazily."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from ucs_graphql.access import tasks as t
from ucs_graphql.context import Ctx
from ucs_graphql.graphql.connections import Connection, connection
from ucs_graphql.graphql.context import Info, Loader
from ucs_graphql.graphql.nodes import Node
from ucs_graphql.graphql.permissions import needs
from ucs_graphql.interactions import service
from ucs_graphql.interactions import store as ixn_store
from ucs_graphql.interactions.model import BINARY_CONTENT, PLAIN_TEXT, STRUCTURED_TEXT, Content
from ucs_graphql.interactions.wire import content_urls
from ucs_graphql.kit import pages

if TYPE_CHECKING:
    from ucs_graphql.graphql.journeys import Service
    from ucs_graphql.graphql.profiles import Profile

PAGE = 100


def _loader(part: str) -> Any:
    def factory(ctx: Ctx) -> DataLoader[str, Content | None]:
        async def load(ids: list[str]) -> list[Content | None]:
            return await service.load_contents(ctx, part, ids)

        return Loader(load_fn=load)

    return factory


_LOADERS = {part: _loader(part) for part in (PLAIN_TEXT, STRUCTURED_TEXT, BINARY_CONTENT)}


async def _content(info: Info, record: ixn_store.Interaction, part: str) -> Content | None:
    """One content part through the request's loader for that part (no read when the part is absent)."""
    if part not in record.parts:
        return None
    loader = info.context.loader(f"interaction_{part}", _LOADERS[part])
    found: Content | None = await loader.load(record.interaction_id)
    return found


def _base_url(info: Info) -> str:
    request = info.context.request
    return str(request.base_url).rstrip("/") + info.context.ctx.settings.base_path


@strawberry.type
class EmailAddress:
    address: str
    personal: str | None = None


def _address(doc: Any) -> EmailAddress | None:
    return None if doc is None else EmailAddress(address=doc["address"], personal=doc.get("personal"))


def _addresses(docs: Any) -> list[EmailAddress] | None:
    return None if docs is None else [EmailAddress(address=d["address"], personal=d.get("personal")) for d in docs]


@strawberry.interface(description="An interaction: the common fields of the reference's Interaction Resources.")
class Interaction(Node):
    record: strawberry.Private[ixn_store.Interaction]
    interaction_id: str
    customer_id: str
    service_id: int | None
    entity_type: int = strawberry.field(description="0 e-mail in, 1 e-mail out, 2 chat, 3 phone call, "
                                                    "5 callback, 6 cobrowse, 7 open media")
    status: int = strawberry.field(description="0 NEW, 1 PENDING, 2 IN_PROCESS, 3 STOPPED")
    type: str
    sub_type: str | None
    media_type: str
    parent_id: str | None
    thread_id: str | None
    external_id: str | None
    owner_id: int | None
    creator_app_id: int
    start_date: str
    end_date: str | None
    timeshift: int | None
    category_id: str | None
    allow_children: bool
    subject: str | None
    stopped_reason: str | None
    udata: JSON | None
    structured_text_mime: str | None
    binary_content_mime: str | None
    binary_content_size: int | None

    def node_key(self) -> tuple[object, ...]:
        return ("Interaction", self.interaction_id)

    @strawberry.field(description="URL of the plain text (as the REST resource gives it).")
    def text_url(self, info: Info) -> str | None:
        return content_urls(self.record, _base_url(info)).get("text")

    @strawberry.field(description="URL of the structured text.")
    def structured_text_url(self, info: Info) -> str | None:
        return content_urls(self.record, _base_url(info)).get("structured_text")

    @strawberry.field(description="URL of the binary content.")
    def binary_content_url(self, info: Info) -> str | None:
        return content_urls(self.record, _base_url(info)).get("binary_content")

    @strawberry.field(description="The plain text (read only when asked).")
    async def text(self, info: Info) -> str | None:
        found = await _content(info, self.record, PLAIN_TEXT)
        return None if found is None else found.data.decode("utf-8")

    @strawberry.field(description="The structured text (read only when asked).")
    async def structured_text(self, info: Info) -> str | None:
        found = await _content(info, self.record, STRUCTURED_TEXT)
        return None if found is None else found.data.decode("utf-8")

    @strawberry.field(description="The binary content in base64 (read only when asked).")
    async def binary_content(self, info: Info) -> str | None:
        found = await _content(info, self.record, BINARY_CONTENT)
        return None if found is None else base64.b64encode(found.data).decode("ascii")

    @strawberry.field(description="The customer of the interaction (null when the profile does not exist).")
    async def customer(self, info: Info) -> Annotated[Profile, strawberry.lazy("ucs_graphql.graphql.profiles")] | None:
        from ucs_graphql.graphql.profiles import existing_profile

        return await existing_profile(info, self.customer_id)

    @strawberry.field(description="The service the interaction was ingested with (null when it has none or "
                                  "the service was deleted).")
    async def service(self, info: Info) -> Annotated[Service, strawberry.lazy("ucs_graphql.graphql.journeys")] | None:
        from ucs_graphql.graphql.journeys import Service, service_loader

        if self.service_id is None:
            return None
        doc = await service_loader(info).load(self.service_id)
        return None if doc is None else Service.of(doc)


@strawberry.type(description="Inbound e-mail (entity_type 0).")
class EmailInInteraction(Interaction):
    from_: EmailAddress | None = strawberry.field(name="from")
    reply_to: EmailAddress | None
    to: list[EmailAddress] | None
    cc: list[EmailAddress] | None
    sent_date: str | None


@strawberry.type(description="Outbound e-mail (entity_type 1).")
class EmailOutInteraction(Interaction):
    from_: EmailAddress | None = strawberry.field(name="from")
    reply_to: EmailAddress | None
    to: list[EmailAddress] | None
    cc: list[EmailAddress] | None
    bcc: list[EmailAddress] | None
    sent_date: str | None
    reference_id: int | None
    reviewer_id: int | None
    standard_response_id: str | None


@strawberry.type(description="Chat (entity_type 2).")
class ChatInteraction(Interaction):
    established_date: str | None
    released_date: str | None


@strawberry.type(description="Phone call (entity_type 3).")
class PhoneCallInteraction(Interaction):
    duration: int | None
    outcome: str | None
    phone_number: str | None
    tconnection_id: str | None


@strawberry.type(description="Callback (entity_type 5).")
class CallbackInteraction(Interaction):
    callback_status: int | None
    desired_response_type: str
    start_time: str
    end_time: str | None
    customer_number: str
    attempts: int
    dn: str | None
    location: str | None
    callback_server_id: str | None
    call_result: int | None
    callback_type: int | None


@strawberry.type(description="Cobrowse (entity_type 6).")
class CobrowseInteraction(Interaction):
    pass


@strawberry.type(description="Open media interaction (entity_type 7).")
class OpenMediaInteraction(Interaction):
    pass


_TYPES: dict[int, type[Interaction]] = {
    0: EmailInInteraction, 1: EmailOutInteraction, 2: ChatInteraction, 3: PhoneCallInteraction,
    5: CallbackInteraction, 6: CobrowseInteraction, 7: OpenMediaInteraction,
}
_ADDRESS_FIELDS = {"from": _address, "reply_to": _address, "to": _addresses, "cc": _addresses, "bcc": _addresses}


class _Fields(NamedTuple):
    """The fields of a type read from the stored document: their python names, their document keys (in the
    same order), and (python name, conversion) of those converted when not null."""

    names: tuple[str, ...]
    keys: tuple[str, ...]
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]


def _fields(cls: type) -> _Fields:
    given = {"record", "interaction_id", "customer_id", "service_id"}
    names: list[str] = []
    keys: list[str] = []
    converted: list[tuple[str, Callable[[Any], Any]]] = []
    for definition in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if definition.base_resolver is not None or definition.python_name in given:
            continue
        key = definition.graphql_name or definition.python_name
        names.append(definition.python_name)
        keys.append(key)
        if key in _ADDRESS_FIELDS:
            converted.append((definition.python_name, _ADDRESS_FIELDS[key]))
    return _Fields(tuple(names), tuple(keys), tuple(converted))


_FIELDS = {cls: _fields(cls) for cls in _TYPES.values()}


def to_graphql(record: ixn_store.Interaction) -> Interaction:
    """The GraphQL object of a stored interaction (its concrete type follows entity_type). Its attributes are
    given as one dict (its fields' values looked up in C), not through the dataclass `__init__`: every field
    is set, as `__init__` sets them."""
    cls = _TYPES[record.entity_type]
    fields = _FIELDS[cls]
    values = dict(zip(fields.names, map(record.doc.get, fields.keys), strict=True))
    for name, convert in fields.converted:
        value = values[name]
        if value is not None:
            values[name] = convert(value)
    values["record"] = record
    values["interaction_id"] = record.interaction_id
    values["customer_id"] = record.customer_id
    values["service_id"] = record.service_id
    made: Interaction = object.__new__(cls)
    made.__dict__ = values
    return made


def _by_id(ctx: Ctx) -> DataLoader[str, ixn_store.Interaction | None]:
    async def load(ids: list[str]) -> list[ixn_store.Interaction | None]:
        return await service.interactions_by_ids(ctx, ids)

    return Loader(load_fn=load)


async def interaction_node(info: Info, interaction_id: str) -> Interaction | None:
    """An interaction by id through the request's loader (None when the tenant has none with this id)."""
    record = await info.context.loader("interactions_by_id", _by_id).load(interaction_id)
    return None if record is None else to_graphql(record)


def interaction_connection(rows: Sequence[ixn_store.Interaction], page: pages.Page) -> Connection[Interaction]:
    """The connection of a page of interactions read with one more than asked."""
    return connection(rows, page, lambda r: pages.encode(service.CURSOR, r.start_ms, r.interaction_id), to_graphql)


@strawberry.type
class InteractionQuery:
    @strawberry.field(extensions=needs(t.READ_INTERACTION), description="One interaction by id (CV.WS.IXN.2).")
    async def interaction(self, info: Info, interaction_id: str) -> Interaction:
        return to_graphql(await service.get_interaction(info.context.ctx, interaction_id))

    @strawberry.field(extensions=needs(t.READ_INTERACTION),
                      description="A customer's interactions, oldest first (CV.WS.IXN.2).")
    async def customer_interactions(
        self, info: Info, customer_id: str, limit: int = PAGE, offset: int = 0
    ) -> list[Interaction]:
        found = await service.customer_interactions(info.context.ctx, customer_id, limit, offset)
        return [to_graphql(r) for r in found]

    @strawberry.field(extensions=needs(t.READ_INTERACTION),
                      description="A service's interactions, oldest first (CV.WS.IXN.2).")
    async def service_interactions(
        self, info: Info, service_id: int, limit: int = PAGE, offset: int = 0
    ) -> list[Interaction]:
        found = await service.service_interactions(info.context.ctx, service_id, limit, offset)
        return [to_graphql(r) for r in found]


@strawberry.type
class InteractionMutation:
    @strawberry.mutation(extensions=needs(t.CREATE_INTERACTION),
                         description="Ingest an interaction: the REST body of POST /interactions, binary content "
                                     "in base64 (X.IXN.CREATE).")
    async def create_interaction(self, info: Info, interaction: JSON) -> Interaction:
        ctx = info.context.ctx
        interaction_id = await service.create_interaction(ctx, interaction)
        return to_graphql(await service.get_interaction(ctx, interaction_id))


TYPES: tuple[type, ...] = tuple(_TYPES.values())
