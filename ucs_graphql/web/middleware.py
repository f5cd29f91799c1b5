"""Pure ASGI middleware in front of both doors: request id, tenant header, access gate (credentials,
tenant binding, rate limit), mode-switch gate, in-flight accounting, body-size limit, status counters
and the access log.

Refusals here happen before any body is read or any database work is done. On the GraphQL path they are
GraphQL responses (`errors[].extensions.code`); elsewhere the reference's error object.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ucs_graphql.access.gate import WWW_AUTHENTICATE, Gate
from ucs_graphql.access.redact import redact
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import BadParameter, PayloadTooLarge, UcsError, Unavailable
from ucs_graphql.kit.timefmt import now_utc
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.accesslog import log_request
from ucs_graphql.web.logging import accepted_request_id
from ucs_graphql.web.responses import error_body

log = logging.getLogger("ucs")

# Paths that stay served while the mode switches and are not counted as in-flight work.
EXEMPT = ("/server/status", "/server/mode", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
# Paths served without credentials (documentation and probes); everything else needs them when users exist.
PUBLIC = ("/openapi.json", "/healthz", "/readyz")
MAX_TENANT = 2**31 - 1
# Bulk import uploads its file, spooled to disk: its body limit is max_import_bytes.
IMPORT_PATH = "/profiles/import"


def parse_tenant(raw: str | None) -> int | None:
    """The tenant of an X-Genesys-TenantId value (absent = 1); None when it is not a positive integer."""
    if raw is None or raw.strip() == "":
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 < value <= MAX_TENANT else None


def limit_body(receive: Receive, limit: int) -> Receive:
    """A receive that raises PayloadTooLarge once the body read so far exceeds `limit` (chunked bodies too)."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        return message

    return limited


class FrontDoor:
    """Wraps the whole application; see the module docstring."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self.base = runtime.settings.base_path

    def _strip(self, path: str) -> str:
        if self.base and (path == self.base or path.startswith(self.base + "/")):
            return path[len(self.base):] or "/"
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or accepted_request_id(headers.get("x-request-id"))
        state["request_id"] = request_id
        if "x-genesys-segment" in headers:
            state["segment"] = headers["x-genesys-segment"]
        tenant = parse_tenant(headers.get("x-genesys-tenantid"))
        path = self._strip(scope["path"])
        gate: Gate | None = self.rt.parts.get("gate")
        if scope["type"] == "websocket":
            state["tenant"] = tenant or 1
            try:
                if tenant is None:
                    raise BadParameter("X-Genesys-TenantId", "the tenant id must be a positive integer")
                if gate is not None and not gate.open and "authorization" not in headers:
                    # Browsers cannot set headers on a WebSocket: the credentials then come in the
                    # graphql-transport-ws connection_init payload (ucs_graphql.graphql.app.on_ws_connect).
                    state["ws_deferred_auth"] = True
                else:
                    await self._admit(gate, scope, headers, state, tenant)
            except UcsError:
                await receive()  # the handshake's websocket.connect; closing now refuses it (HTTP 403)
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return

        received = now_utc()
        started = time.perf_counter()
        server = self.rt.server
        exempt = path.rstrip("/") in EXEMPT or path.startswith("/docs")
        status_holder = {"status": 500}
        rid = request_id.encode("latin-1", "replace")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid)]
            await send(message)

        graphql = path.rstrip("/") == "/graphql"
        settings = self.rt.settings
        limit = settings.max_import_bytes if path.rstrip("/") == IMPORT_PATH else settings.max_body_bytes
        try:
            try:
                if tenant is None:
                    raise BadParameter("X-Genesys-TenantId", "the tenant id must be a positive integer, not "
                                       f"'{headers.get('x-genesys-tenantid')}'")
                state["tenant"] = tenant
                if not (path.rstrip("/") in PUBLIC or path == "/docs" or path.startswith("/docs/")):
                    await self._admit(gate, scope, headers, state, tenant)
                length = headers.get("content-length")
                if length and length.isdigit() and int(length) > limit:
                    raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
                if server.switching and not exempt:
                    raise Unavailable("the server mode is switching; retry in a moment", retry_after=1)
            except UcsError as err:
                await self._error(scope, send_wrapper, err, graphql)
                return
            receive = limit_body(receive, limit)
            if exempt:
                await self.app(scope, receive, send_wrapper)
            else:
                server.enter()
                try:
                    await self.app(scope, receive, send_wrapper)
                finally:
                    server.leave()
        finally:
            status = status_holder["status"]
            server.count(status)
            if self.rt.settings.access_log:
                client = scope.get("client") or ("-", 0)
                srv = scope.get("server") or ("-", 0)
                qs = scope.get("query_string", b"").decode("latin-1")
                log_request(
                    fmt=self.rt.settings.log_format, received=received, client=str(client[0]),
                    port=int(srv[1] or 0), method=scope["method"],
                    url=redact(scope["path"] + (("?" + qs) if qs else "")), status=status,
                    ms=int((time.perf_counter() - started) * 1000), host=headers.get("host", "-"),
                    agent=headers.get("user-agent", "-"), request_id=request_id, tenant=tenant,
                    segment=redact(state["segment"]) if "segment" in state else None,
                )

    async def _admit(
        self, gate: Gate | None, scope: Scope, headers: dict[str, str], state: dict[str, Any], tenant: int
    ) -> None:
        """Run the access gate on the request's headers; the admitted caller goes into the scope state."""
        if gate is None:
            return
        client = scope.get("client") or ("-", 0)
        principal = await gate.admit(headers.get("authorization"), tenant, str(client[0]))
        if principal is not None:
            state["principal"] = principal
            state["user"] = principal.name

    async def _error(self, scope: Scope, send: Send, err: UcsError, graphql: bool) -> None:
        """Answer a refusal: the reference's error object, or a GraphQL response on the GraphQL path."""
        row = row_for(err.kind)
        if graphql:
            payload: dict[str, Any] = {"data": None, "errors": [{"message": err.description, "extensions": {
                "code": row.graphql_code, "status": row.status, "ucs_code": row.code}}]}
        else:
            host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode("latin-1")
            uri = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
            payload = error_body(err.kind, err.description, scope["method"], uri)
        body = jsonio.dumps(payload)
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if isinstance(err, Unavailable):
            headers.append((b"retry-after", str(err.retry_after).encode()))
        if err.kind == "unauthenticated":
            headers.append((b"www-authenticate", WWW_AUTHENTICATE.encode()))
        await send({"type": "http.response.start", "status": row.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class DrainCutoff:
    """Answers 503 (with Retry-After) to a request the server cancels when the shutdown drain time is over,
    instead of the bare 500 the ASGI server would send; the cancelled request then ends normally."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except asyncio.CancelledError:
            if started:
                raise
            log.warning("%s %s cut off at the end of the shutdown drain; answered 503", scope["method"], scope["path"])
            host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode("latin-1")
            uri = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
            body = jsonio.dumps(error_body("unavailable", "the server is shutting down; retry on another instance",
                                           scope["method"], uri))
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
