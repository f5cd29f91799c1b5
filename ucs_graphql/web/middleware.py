"""Pure ASGI middleware in front of both doors: request id, tenant header, mode-switch gate,
in-flight accounting, body-size limit, status counters and the access log."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ucs_graphql.kit import jsonio
from ucs_graphql.kit.timefmt import now_utc
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.accesslog import log_request
from ucs_graphql.web.logging import accepted_request_id
from ucs_graphql.web.responses import error_body

log = logging.getLogger("ucs")

# Paths that stay served while the mode switches and are not counted as in-flight work.
EXEMPT = ("/server/status", "/server/mode", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
MAX_TENANT = 2**31 - 1


def parse_tenant(raw: str | None) -> int | None:
    """The tenant of an X-Genesys-TenantId value (absent = 1); None when it is not a positive integer."""
    if raw is None or raw.strip() == "":
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 < value <= MAX_TENANT else None


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
        if scope["type"] == "websocket":
            state["tenant"] = tenant or 1
            await self.app(scope, receive, send)
            return

        received = now_utc()
        started = time.perf_counter()
        path = self._strip(scope["path"])
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

        try:
            if tenant is None:
                await self._error(scope, send_wrapper, 400, "bad_parameter",
                                  "bad parameter 'X-Genesys-TenantId' reason : the tenant id must be a positive "
                                  f"integer, not '{headers.get('x-genesys-tenantid')}'")
                return
            state["tenant"] = tenant
            limit = self.rt.settings.max_body_bytes
            length = headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                await self._error(scope, send_wrapper, 413, "payload_too_large",
                                  f"the request body is larger than {limit} bytes")
                return
            if server.switching and not exempt:
                await self._error(scope, send_wrapper, 503, "unavailable",
                                  "the server mode is switching; retry in a moment", retry_after=1)
                return
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
                    url=scope["path"] + (("?" + qs) if qs else ""), status=status,
                    ms=int((time.perf_counter() - started) * 1000), host=headers.get("host", "-"),
                    agent=headers.get("user-agent", "-"), request_id=request_id,
                )

    async def _error(
        self, scope: Scope, send: Send, status: int, kind: str, description: str, retry_after: int | None = None
    ) -> None:
        host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode("latin-1")
        uri = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
        body = jsonio.dumps(error_body(kind, description, scope["method"], uri))
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
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
