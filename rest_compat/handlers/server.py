"""Server operations: CV.WS.STAT, CV.WS.MODE."""

from __future__ import annotations

from starlette.responses import Response

from rest_compat.call import Call, reply
from ucs_graphql.server import service


async def get_status(call: Call) -> Response:
    return reply(service.status(call.ctx))


async def set_mode(call: Call) -> Response:
    mode = await service.set_mode(call.ctx, await call.json())
    return reply({"server changed": mode}, location=call.location("/server/status"))
