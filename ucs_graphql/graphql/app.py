"""The Strawberry ASGI app at /graphql, with a context carrying the use-case Ctx."""

from __future__ import annotations

from typing import Any

from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from ucs_graphql.context import Ctx
from ucs_graphql.graphql.context import GqlContext
from ucs_graphql.graphql.schema import build_schema
from ucs_graphql.kit import jsonio
from ucs_graphql.runtime import Runtime


class UcsGraphQL(GraphQL[GqlContext, None]):
    """GraphQL over HTTP (GraphiQL in a browser) and graphql-transport-ws subscriptions."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            build_schema(runtime.settings),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.runtime = runtime

    async def get_context(self, request: Any, response: Any) -> GqlContext:
        state = request.scope.get("state", {})
        ctx = Ctx(rt=self.runtime, tenant=state.get("tenant", 1), user=state.get("user"),
                  request_id=state.get("request_id"))
        return GqlContext(ctx=ctx, request=request, response=response)

    def encode_json(self, data: object) -> bytes:
        return jsonio.dumps(data)
