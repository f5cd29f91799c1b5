"""GraphQL: server status and mode (same use cases as CV.WS.STAT and CV.WS.MODE)."""

from __future__ import annotations

from enum import Enum

import strawberry

from ucs_graphql.access import tasks as t
from ucs_graphql.graphql.context import Info
from ucs_graphql.graphql.permissions import needs
from ucs_graphql.server import service


@strawberry.enum
class ServerMode(Enum):
    PRODUCTION = "production"
    MAINTENANCE = "maintenance"


@strawberry.type
class ServerStatus:
    version: str
    system_time: str
    mode: ServerMode
    started: str
    last_request: str | None
    request_today: int
    client_errors_today: int
    server_errors_today: int
    max_memory: int
    allocated_memory: int
    used_memory: int
    free_memory: int


@strawberry.type
class ServerQuery:
    @strawberry.field(extensions=needs(t.READ_SERVER_INFO), description="Server status (CV.WS.STAT).")
    def server_status(self, info: Info) -> ServerStatus:
        doc = service.status(info.context.ctx)
        doc["mode"] = ServerMode(doc["mode"])
        return ServerStatus(**doc)


@strawberry.type
class ServerMutation:
    @strawberry.mutation(extensions=needs(t.CHANGE_SERVER_MODE), description="Set the server mode (CV.WS.MODE).")
    async def set_server_mode(self, info: Info, mode: ServerMode) -> ServerMode:
        return ServerMode(await service.set_mode(info.context.ctx, {"mode": mode.value}))
