"""Task operations: CV.WS.SRV.8, 9, 13, 16."""

from __future__ import annotations

from starlette.responses import Response

from rest_compat.call import Call, no_content, reply
from rest_compat.handlers.services import STATUSES, Handler, extension_names
from ucs_graphql.journeys import tasks
from ucs_graphql.journeys.values import item_value, split_list


async def start(call: Call) -> Response:
    service_id = call.path("service_id")
    task_id = await tasks.start_task(call.ctx, service_id, await call.json())
    return reply({"task_id": task_id}, 201, location=call.location(f"/services/{service_id}/tasks/{task_id}"))


async def complete(call: Call) -> Response:
    await tasks.complete_task(call.ctx, call.path("service_id"), call.path("task_id"), await call.json(required=False))
    return no_content()


async def get(call: Call) -> Response:
    return reply(await tasks.get_task(call.ctx, call.path("service_id"), call.path("task_id"),
                                      extension_names(call)))


def _query(status: str) -> Handler:
    async def handler(call: Call) -> Response:
        q = call.query
        types = split_list("task_types", q.get("task_types", q.get("task_type")))
        raw_state = q.get("state_id")
        state_id = item_value(call.ctx, "task", "state_id", raw_state) if raw_state is not None else None
        return reply(await tasks.query_tasks(call.ctx, call.path("service_id"), status, types, state_id,
                                             extension_names(call)))

    handler.__name__ = f"query_{status}_tasks"
    return handler


query = {s: _query(s) for s in STATUSES}
