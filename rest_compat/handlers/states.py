"""State operations: CV.WS.SRV.5, 6, 7, 12, 15."""

from __future__ import annotations

from starlette.responses import Response

from rest_compat.call import Call, no_content, reply
from rest_compat.handlers.services import STATUSES, Handler, include
from ucs_graphql.journeys import states
from ucs_graphql.journeys.values import split_list


async def start(call: Call) -> Response:
    service_id = call.path("service_id")
    state_id = await states.start_state(call.ctx, service_id, await call.json())
    return reply({"state_id": state_id}, 201, location=call.location(f"/services/{service_id}/states/{state_id}"))


async def complete(call: Call) -> Response:
    await states.complete_state(call.ctx, call.path("service_id"), call.path("state_id"),
                                await call.json(required=False))
    return no_content(200)


async def transition(call: Call) -> Response:
    service_id = call.path("service_id")
    state_id = await states.transition(call.ctx, service_id, await call.json())
    return reply({"state_id": state_id}, 201, location=call.location(f"/services/{service_id}/states/{state_id}"))


async def get(call: Call) -> Response:
    return reply(await states.get_state(call.ctx, call.path("service_id"), call.path("state_id"), include(call)))


def _query(status: str) -> Handler:
    async def handler(call: Call) -> Response:
        types = split_list("state_types", call.query.get("state_types", call.query.get("state_type")))
        return reply(await states.query_states(call.ctx, call.path("service_id"), status, types, include(call)))

    handler.__name__ = f"query_{status}_states"
    return handler


query = {s: _query(s) for s in STATUSES}
