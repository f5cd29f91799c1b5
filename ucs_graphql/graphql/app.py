"""The Strawberry ASGI app at /graphql, with a context carrying the use-case Ctx.

HTTP is served here (`ucs_graphql.graphql.http` reads the request and chooses the media type): GraphiQL for a
browser asking for HTML, queries by GET, one operation or a batch (a JSON array) by POST, automatic persisted
queries on both. A plain query document runs from its compiled plan (`ucs_graphql.graphql.compiled`) when the
caller may read all it selects (`ucs_graphql.graphql.reach`) and the plan succeeds; otherwise the operation is
handed to the same Strawberry schema (`schema.execute`, with its extensions, permissions and error
processing). Every refusal is a GraphQL response with a code. Subscriptions over WebSocket go through
Strawberry's own view.

JSON is decoded with orjson everywhere (bodies, GET variables, WebSocket messages): invalid UTF-8, lone
surrogates and nesting deeper than 1,024 are the client's 400, before anything reaches a resolver. Only the
graphql-transport-ws WebSocket protocol is served; the legacy graphql-ws one is refused at the handshake.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from ucs_graphql.context import Ctx
from ucs_graphql.graphql import view_plan
from ucs_graphql.graphql.compiled import Fallback, Plans
from ucs_graphql.graphql.context import GqlContext
from ucs_graphql.graphql.http import (
    JSON,
    Params,
    PersistedQueries,
    Refusal,
    answer_type,
    bad_request,
    params_of,
    params_of_query_string,
)
from ucs_graphql.graphql.reach import plan_allowed
from ucs_graphql.graphql.schema import build_schema
from ucs_graphql.graphql.websocket import TransportWSHandler
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import BadParameter, MalformedRequest, UcsError
from ucs_graphql.runtime import Runtime
from ucs_graphql.web import graphiql
from ucs_graphql.web.metrics import count_plan_fallback
from ucs_graphql.web.middleware import parse_tenant, read_body

log = logging.getLogger("ucs")

_LEAN_TYPES = {OperationType.QUERY, OperationType.MUTATION}
_GET_TYPES = {OperationType.QUERY}
# The close code and reason of a WebSocket that does not speak graphql-transport-ws (4406, as Strawberry's
# refusal of a subprotocol it does not know; a reason has at most 123 bytes).
_WS_UNSUPPORTED = 4406
_WS_REASON = "only graphql-transport-ws is served; graphql-ws (subscriptions-transport-ws) is not"


class TextFrames(ASGIWebSocketAdapter):
    """Sends every WebSocket message as a text frame: graphql-transport-ws carries JSON text, and standard
    clients (graphql-ws, gql, browsers' GraphiQL) refuse binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(jsonio.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class UcsGraphQL(GraphQL[GqlContext, None]):
    """GraphQL over HTTP (GraphiQL in a browser) and graphql-transport-ws subscriptions."""

    websocket_adapter_class = TextFrames
    # Rate, per-connection and per-process limits on operations over WebSocket (ucs_graphql.graphql.websocket).
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            build_schema(runtime.settings),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=runtime.settings.max_subscriptions_per_connection,
        )
        self.runtime = runtime
        self.plans = Plans(self.schema, enabled=runtime.settings.graphql_compiled_plans,
                           specialisations=(view_plan.specialise,))
        self._logged_unexpected = False
        self.persisted = PersistedQueries(runtime.settings.graphql_persisted_queries_bytes)

    async def get_context(self, request: Any, response: Any) -> GqlContext:
        return self._context(request, response)

    def _context(self, request: Any, response: Any) -> GqlContext:
        state = request.scope.get("state", {})
        ctx = Ctx(rt=self.runtime, tenant=state.get("tenant", 1), user=state.get("user"),
                  request_id=state.get("request_id"))
        return GqlContext(ctx=ctx, request=request, response=response)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return graphiql.wants_graphiql(request.method, request.headers.get("accept", ""),
                                       request.query_params.get("query") is not None)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql.page(request, access_control=not self.runtime.parts["gate"].open)

    def encode_json(self, data: object) -> bytes:
        return jsonio.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """JSON as the lean path decodes it; a refusal is a JSONDecodeError, which Strawberry answers 400 (HTTP)
        or 4400 (WebSocket)."""
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        try:
            return jsonio.loads_request(raw)
        except MalformedRequest as err:
            raise json.JSONDecodeError(err.description, "", 0) from err

    async def on_ws_connect(self, context: GqlContext) -> UnsetType | dict[str, object] | None:
        """Apply the connection_init payload, whose keys stand for the headers a browser cannot set on a
        WebSocket: `X-Genesys-TenantId` (the tenant of every operation on the connection) and `Authorization`
        (the same Basic or Bearer value as the header, read when the handshake carried none). The caller is
        admitted again for the payload's tenant; a refusal closes the socket (4403)."""
        state = context.request.scope.setdefault("state", {})
        deferred = state.pop("ws_deferred_auth", False)
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        tenant = context.ctx.tenant
        try:
            raw_tenant = _param(params, "x-genesys-tenantid")
            if raw_tenant is not None:
                tenant = _payload_tenant(raw_tenant, state.get("ws_tenant_header"))
            if not deferred and tenant == context.ctx.tenant:
                return UNSET
            authorization = _param(params, "authorization") if deferred else _header(context, b"authorization")
            client = context.request.scope.get("client") or ("-", 0)
            principal = await self.runtime.parts["gate"].admit(
                authorization if isinstance(authorization, str) else None, tenant, str(client[0]))
        except UcsError as err:
            raise ConnectionRejectionError({"message": err.description, "code": row_for(err.kind).graphql_code}) \
                from err
        state["tenant"] = tenant
        if principal is not None:
            state["principal"] = principal
        state["user"] = principal.name if principal is not None else state.get("user")
        context.ctx = dataclasses.replace(context.ctx, tenant=tenant, user=state["user"])
        return UNSET

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
            return
        if scope["type"] == "websocket" and GRAPHQL_TRANSPORT_WS_PROTOCOL not in scope.get("subprotocols", ()):
            await _refuse_websocket(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GraphQL over HTTP: GraphiQL for a browser, GET for queries, POST for one operation or a batch."""
        headers = _headers(scope)
        media = answer_type(headers.get(b"accept", b"").decode("latin-1"))
        method = scope["method"]
        payload: Any
        try:
            if method == "GET":
                query_string = scope.get("query_string", b"")
                if graphiql.wants_graphiql(method, headers.get(b"accept", b"").decode("latin-1"),
                                           graphiql.has_query_parameter(query_string)):
                    page = await self.render_graphql_ide(Request(scope))
                    await page(scope, receive, send)
                    return
                params = params_of_query_string(query_string)
                if params.query is None and params.extensions is None:
                    raise bad_request("a GET request to /graphql needs a 'query' parameter (GraphiQL is served "
                                      "to browsers asking for text/html)")
                status, payload = await self._one(scope, params, media, get=True)
            elif method == "POST":
                body = await read_body(receive)
                if body is None:  # the client went away before its body ended: nobody reads an answer
                    raise ClientDisconnect()
                parsed = _post_body(headers, body)
                if isinstance(parsed, list):
                    status, payload = 200, await self._batch(scope, parsed, media)
                else:
                    status, payload = await self._one(scope, params_of(parsed), media, get=False)
            else:
                raise Refusal("method_not_allowed", f"method {method} is not allowed on /graphql (GET or POST)",
                              headers=((b"allow", b"GET, POST"),))
        except Refusal as refusal:
            await _answer(send, refusal.status, refusal.payload(), media, refusal.headers)
            return
        await _answer(send, status, payload, media)

    async def _batch(self, scope: Scope, operations: list[Any], media: str) -> list[Any]:
        """The results of a JSON array of operations, run one after the other (mutations in their order)."""
        limit = self.runtime.settings.graphql_max_batch
        if not operations:
            raise bad_request("an empty batch: send a JSON array of one or more operations")
        if len(operations) > limit:
            raise bad_request(f"a batch holds at most {limit} operations (graphql_max_batch), not {len(operations)}")
        results: list[Any] = []
        for raw in operations:
            try:
                _, payload = await self._one(scope, params_of(raw), media, get=False)
            except Refusal as refusal:
                payload = refusal.payload()
            results.append(payload)
        return results

    async def _one(self, scope: Scope, params: Params, media: str, *, get: bool) -> tuple[int, dict[str, Any]]:
        """Run one operation: the status and the GraphQL response of its answer."""
        self.persisted.resolve(params)
        if not params.query:
            raise bad_request("the request has no GraphQL document: send it in 'query'")
        request = Request(scope)
        context = self._context(request, None)
        plan = self.plans.get(params.query, params.operation_name)
        if plan is not None and plan_allowed(plan, context, params.variables):
            # A plan that never runs two resolvers at once gets the same batches from prompt loaders.
            context.prompt_loaders = plan.shares_context
            try:
                data = await plan.run(context, params.variables)
            except Fallback as fallback:
                self._fell_back(fallback)
                # The full path answers; queries only read, so running again is safe. With the same context
                # it finds what the request's loaders already read instead of reading it again, unless that
                # could change its answer (see Plan.shares_context).
                if not plan.shares_context:
                    context = self._context(request, None)
            else:
                return 200, {"data": data}
        try:
            result = await self.schema.execute(
                params.query, variable_values=params.variables, context_value=context,
                operation_name=params.operation_name, allowed_operation_types=_GET_TYPES if get else _LEAN_TYPES)
        except InvalidOperationTypeError as err:
            if err.operation_type == OperationType.SUBSCRIPTION:
                raise bad_request("subscriptions are served over WebSocket (graphql-transport-ws)") from err
            raise Refusal("method_not_allowed", "a GET request runs queries only; send mutations by POST",
                          headers=((b"allow", b"POST"),)) from err
        except CannotGetOperationTypeError as err:
            raise bad_request(f"no operation to run: {err}") from err
        if result.errors and result.data is None and all(err.path is None for err in result.errors):
            # A request error: nothing ran, so no data key (4xx under graphql-response+json).
            errors: list[Any] = [err.formatted for err in result.errors]
            return _request_error_status(errors, media), {"errors": errors}
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [err.formatted for err in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        return 200, payload

    def _fell_back(self, fallback: Fallback) -> None:
        """Count a plan that gave way; log the first unexpected one of the process with its cause."""
        count_plan_fallback(self.runtime, fallback.unexpected)
        if fallback.unexpected and not self._logged_unexpected:
            self._logged_unexpected = True
            log.error("a compiled GraphQL plan failed unexpectedly; its requests are answered by the full path "
                      "(graphql_compiled_plans = false turns plans off)", exc_info=fallback.__cause__)


async def _answer(send: Send, status: int, payload: Any, media: str = JSON,
                  extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    out = jsonio.dumps(payload)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media.encode()), (b"content-length", str(len(out)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": out})


def _request_error_status(errors: list[Any], media: str) -> int:
    """200 under application/json; under graphql-response+json the first error's own 4xx status, else 400."""
    if media == JSON:
        return 200
    status = (errors[0].get("extensions") or {}).get("status")
    return status if isinstance(status, int) and 400 <= status < 500 else 400


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (the first of repeated ones)."""
    out: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(name.lower(), value)
    return out


def _post_body(headers: dict[bytes, bytes], body: bytes) -> Any:
    """A POST's JSON body (an object or an array); any other media type is a 415."""
    ctype = headers.get(b"content-type")
    if ctype is None:
        raise Refusal("unsupported_media_type", "a GraphQL POST needs Content-Type: application/json")
    media, _, rest = ctype.decode("latin-1").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\s;\"]+)", rest, re.IGNORECASE) if rest else None
    if media.strip().lower() != JSON or (charset is not None and charset.group(1).lower() not in ("utf-8", "utf8")):
        raise Refusal("unsupported_media_type", f"a GraphQL POST is sent as application/json in UTF-8, not "
                      f"'{ctype.decode('latin-1')}'")
    if not body.strip():
        raise bad_request("the request body is empty: send a JSON object with a 'query'")
    try:
        return jsonio.loads_request(body)
    except MalformedRequest as err:
        raise bad_request(err.description) from err


def _param(params: dict[str, Any], name: str) -> Any:
    """The connection_init payload's value under a header name, in any letter case."""
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _header(context: GqlContext, name: bytes) -> str | None:
    for key, value in context.request.scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _payload_tenant(raw: object, header: int | None) -> int:
    """The tenant a connection_init payload names; it must agree with the handshake's header when both came."""
    tenant = parse_tenant(str(raw)) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
    if tenant is None:
        raise BadParameter("X-Genesys-TenantId", f"the tenant id must be a positive integer, not '{raw}'")
    if header is not None and header != tenant:
        raise BadParameter("X-Genesys-TenantId", f"the connection_init payload names tenant {tenant} and the "
                           f"handshake's header tenant {header}")
    return tenant


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Complete the handshake (with the legacy subprotocol when asked for, so that the client reads the
    reason), then close with 4406 and the reason: no message of another protocol is ever read."""
    await receive()  # websocket.connect
    asked = scope.get("subprotocols", ())
    accept: dict[str, Any] = {"type": "websocket.accept"}
    if GRAPHQL_WS_PROTOCOL in asked:
        accept["subprotocol"] = GRAPHQL_WS_PROTOCOL
    await send(accept)
    await send({"type": "websocket.close", "code": _WS_UNSUPPORTED, "reason": _WS_REASON})


