"""Limits on GraphQL operations over WebSocket (graphql-transport-ws).

Every operation a connection starts (a `subscribe` message) is counted against the caller's
request rate, like an HTTP request; a connection runs at most `max_subscriptions_per_connection` operations
at once and the process `max_subscriptions`. A refused operation gets an `error` message for its id with the
error table's code (SERVICE_UNAVAILABLE with `retryAfter`, or TOO_MANY_REQUESTS); the connection stays open.
The running operations are the `ucs_graphql_subscriptions_active` gauge.
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import GraphQLFormattedError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, SubscribeMessage

from ucs_graphql.graphql.context import GqlContext
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import Throttled, UcsError, Unavailable
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.metrics import subscription_ended, subscription_started


class Operations:
    """The operations running over WebSocket in this process, up to `limit`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.limit = rt.settings.max_subscriptions
        self.per_connection = rt.settings.max_subscriptions_per_connection
        self.active = 0

    def admit(self, context: GqlContext, running: int) -> None:
        """Raise unless one more operation may start on a connection already running `running`."""
        scope = context.request.scope
        gate = self.rt.parts.get("gate")
        if gate is not None:
            client = scope.get("client") or ("-", 0)
            gate.count(scope.get("state", {}).get("principal"), str(client[0]))
        if running >= self.per_connection:
            raise Throttled(f"this connection already runs {self.per_connection} operations, the limit; complete "
                            "one first", retry_after=1)
        if self.active >= self.limit:
            raise Unavailable(f"this server already runs {self.limit} subscriptions, its limit; retry later",
                              retry_after=5)

    def started(self, task: asyncio.Task[Any]) -> None:
        """Count an admitted operation until its task ends (cancelled before it ran included)."""
        self.active += 1
        subscription_started(self.rt)
        task.add_done_callback(self._ended)

    def _ended(self, _task: asyncio.Task[Any]) -> None:
        self.active -= 1
        subscription_ended(self.rt)


def operations_of(rt: Runtime) -> Operations:
    """The runtime's WebSocket operations, made on first use."""
    found = rt.parts.get("ws_operations")
    if not isinstance(found, Operations):
        found = rt.parts["ws_operations"] = Operations(rt)
    return found


def refusal(err: UcsError) -> GraphQLFormattedError:
    """The GraphQL error of a refused operation."""
    row = row_for(err.kind)
    extensions: dict[str, Any] = {"code": row.graphql_code, "status": row.status}
    if isinstance(err, Unavailable):
        extensions["retryAfter"] = err.retry_after
    return {"message": err.description, "extensions": extensions}


class TransportWSHandler(BaseGraphQLTransportWSHandler[GqlContext, None]):
    """graphql-transport-ws with the limits of this module."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        op_id = message["id"]
        if self.connection_acknowledged and op_id not in self.operations:
            operations = operations_of(self.context.ctx.rt)
            try:
                operations.admit(self.context, len(self.operations))
            except UcsError as err:
                await self.send_message(ErrorMessage(id=op_id, type="error", payload=[refusal(err)]))
                return
            await super().handle_subscribe(message)
            started = self.operations.get(op_id)
            if started is not None and started.task is not None:
                operations.started(started.task)
            return
        await super().handle_subscribe(message)

