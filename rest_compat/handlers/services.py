"""Service operations: CV.WS.SRV.1, 2, 3, 4, 10, 14, 19, 22, and the extension operations of every level."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from rest_compat.call import Call, no_content, reply
from ucs_graphql.journeys import extensions, service
from ucs_graphql.journeys.common import Include
from ucs_graphql.journeys.values import split_list

STATUSES = ("active", "completed", "all")
_EVENT = {"session_id": {"type": "string", "maxLength": 32}, "interaction_id": {"type": "string", "maxLength": 50},
          "application_type": {"type": ["integer", "string"]}, "application_id": {"type": "integer"},
          "resource_type": {"type": ["integer", "string"]}, "resource_id": {"type": "integer"},
          "media_type": {"type": ["integer", "string"]},
          "timestamp": {"type": "string", "description": "yyyy-MM-ddTHH:mm:ss.SSSZ"}}
_EXT = {"description": "Other keys are extensions of the level: an object, or an array for multi-valued ones",
        "additionalProperties": True}
_ITEM_PROPS: dict[str, Any] = {
    "started": {"type": "object", "properties": _EVENT}, "completed": {"type": "object", "properties": _EVENT},
    "est_duration": {"type": "integer"}, "duration": {"type": "integer", "description": "milliseconds"},
    "disposition": {"type": ["integer", "string"]}, "disposition_desc": {"type": "string"}}
_END = {"type": "object", **_EXT, "properties": {
    **_EVENT, "disposition": {"type": ["integer", "string"]}, "disposition_desc": {"type": "string", "maxLength": 64}}}



def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


COMPONENTS: dict[str, Any] = {
    "ServiceStart": {"type": "object", **_EXT, "required": ["service_type"], "properties": {
        **_EVENT, "service_type": {"type": ["integer", "string"]}, "customer_id": {"type": "string"},
        "contact_key": {"type": "string"}, "est_duration": {"type": "integer"}}},
    "ServiceEnd": _END,
    "StateStart": {"type": "object", **_EXT, "required": ["state_type"], "properties": {
        **_EVENT, "state_type": {"type": ["integer", "string"]}, "previous_state_id": {"type": "integer"},
        "est_duration": {"type": "integer"}}},
    "StateEnd": _END,
    "StateTransition": {"type": "object", **_EXT, "required": ["from", "to"], "properties": {
        **_EVENT, "from": {"type": "object", "required": ["state_id"], "additionalProperties": True},
        "to": {"type": "object", "required": ["state_type"], "additionalProperties": True}}},
    "TaskStart": {"type": "object", **_EXT, "required": ["task_type"], "properties": {
        **_EVENT, "task_type": {"type": ["integer", "string"]}, "state_id": {"type": "integer"},
        "est_duration": {"type": "integer"}}},
    "TaskEnd": _END,
    "ServiceId": {"type": "object", "properties": {"service_id": {"type": "integer", "format": "int64"}}},
    "StateId": {"type": "object", "properties": {"state_id": {"type": "integer"}}},
    "TaskId": {"type": "object", "properties": {"task_id": {"type": "integer"}}},
    "Service": {"type": "object", "additionalProperties": True, "properties": {
        **_ITEM_PROPS, "service_id": {"type": "integer", "format": "int64"},
        "service_type": {"type": ["integer", "string"]}, "customer_id": {"type": "string"},
        "contact_key": {"type": "string"}, "active_states": _list("State"), "completed_states": _list("State"),
        "active_tasks": _list("Task"), "completed_tasks": _list("Task")}},
    "ServiceList": _list("Service"),
    "State": {"type": "object", "additionalProperties": True, "properties": {
        **_ITEM_PROPS, "state_id": {"type": "integer"}, "state_type": {"type": ["integer", "string"]},
        "service_id": {"type": "integer"}, "active_tasks": _list("Task"), "completed_tasks": _list("Task")}},
    "StateList": _list("State"),
    "Task": {"type": "object", "additionalProperties": True, "properties": {
        **_ITEM_PROPS, "task_id": {"type": "integer"}, "task_type": {"type": ["integer", "string"]},
        "service_id": {"type": "integer"}, "state_id": {"type": "integer"}}},
    "TaskList": _list("Task"),
    "ExtensionRecords": {"oneOf": [{"type": "object", "additionalProperties": True},
                                   {"type": "array", "items": {"type": "object", "additionalProperties": True}}]},
}

Handler = Callable[[Call], Awaitable[Response]]


def extension_names(call: Call) -> tuple[str, ...] | None:
    """The `extensions=` list of a query."""
    names = split_list("extensions", call.query.get("extensions"))
    return tuple(names) if names is not None else None


def include(call: Call) -> Include:
    """The nested lists and extensions a query asks for."""
    return Include(active_states=call.flag("active_states"), completed_states=call.flag("completed_states"),
                   active_tasks=call.flag("active_tasks"), completed_tasks=call.flag("completed_tasks"),
                   extensions=extension_names(call))


async def start(call: Call) -> Response:
    service_id = await service.start_service(call.ctx, await call.json())
    return reply({"service_id": service_id}, 201, location=call.location(f"/services/{service_id}"))


async def associate(call: Call) -> Response:
    await service.associate_service(call.ctx, call.path("customer_id"), call.path("service_id"),
                                    await call.json(required=False))
    return no_content(200)


async def complete(call: Call) -> Response:
    await service.complete_service(call.ctx, call.path("service_id"), await call.json(required=False))
    return no_content()


async def get(call: Call) -> Response:
    return reply(await service.get_service(call.ctx, call.path("service_id"), include(call)))


def _filters(call: Call, status: str) -> Any:
    q = call.query
    types = split_list("service_type", q.get("service_type", q.get("service_types")))
    return service.service_filters(call.ctx, status, service_types=types, started_from=q.get("started_from"),
                                   started_to=q.get("started_to"), completed_from=q.get("completed_from"),
                                   completed_to=q.get("completed_to"))


def _customer(status: str) -> Handler:
    async def handler(call: Call) -> Response:
        return reply(await service.query_services(call.ctx, _filters(call, status), include(call),
                                                  customer_id=call.path("customer_id")))

    handler.__name__ = f"query_{status}_customer_services"
    return handler


def _anonymous(status: str) -> Handler:
    async def handler(call: Call) -> Response:
        return reply(await service.query_services(call.ctx, _filters(call, status), include(call),
                                                  contact_key=call.path("contact_key")))

    handler.__name__ = f"query_{status}_anonymous_services"
    return handler


customer_services = {s: _customer(s) for s in STATUSES}
anonymous_services = {s: _anonymous(s) for s in STATUSES}


def _item_id(call: Call, level: str) -> int | None:
    return None if level == "service" else call.path(f"{level}_id")


def _extension_op(level: str, action: Callable[..., Awaitable[None]], status: int) -> Handler:
    async def handler(call: Call) -> Response:
        await action(call.ctx, level, call.path("service_id"), _item_id(call, level), call.path("ext"),
                     await call.json())
        return no_content(status)

    handler.__name__ = f"{action.__name__}_{level}"
    return handler


LEVELS = ("service", "state", "task")
replace_extension = {lvl: _extension_op(lvl, extensions.replace_extension, 200) for lvl in LEVELS}
update_extension_record = {lvl: _extension_op(lvl, extensions.update_record, 204) for lvl in LEVELS}
delete_extension_record = {lvl: _extension_op(lvl, extensions.delete_record, 204) for lvl in LEVELS}
