"""The one ASGI layer in front of both doors: request id (in the log context and on every answer), metrics
of every answer (500s included), Host and Origin checks (ucs_graphql.web.site), tenant header, access gate
(credentials, tenant binding, rate limit), mode-switch gate, in-flight accounting, body-size limit and body
read timeout, the time limit of each kind of request (and of a WebSocket connection), status counters, the
access log, the mapping of exceptions to answers (the app's handlers; the unexpected-error handler for
anything else) and the 503 of a request cut off at the end of the shutdown drain.

Refusals here happen before any body is read or any database work is done. On the GraphQL path they are
GraphQL responses (`errors[].extensions.code`); elsewhere the reference's error object.

One layer instead of one per concern: every layer costs each request a coroutine, a `send` wrapper per
message and its own bookkeeping, which on a by-id read is a good part of the server's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from ucs_graphql.access.gate import Gate, challenge
from ucs_graphql.access.redact import redact
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import BadParameter, PayloadTooLarge, RequestTimeout, TenantForbidden, UcsError, Unavailable
from ucs_graphql.kit.timefmt import now_utc
from ucs_graphql.runtime import Runtime
from ucs_graphql.web import console, graphiql
from ucs_graphql.web.accesslog import log_request
from ucs_graphql.web.cors import Cors
from ucs_graphql.web.logging import accepted_request_id, request_id_var
from ucs_graphql.web.metrics import GRAPHQL_OP, OTHER_OP, Metrics
from ucs_graphql.web.responses import error_body
from ucs_graphql.web.site import Site

log = logging.getLogger("ucs")

# Paths that stay served while the mode switches and are not counted as in-flight work.
EXEMPT = ("/server/status", "/server/mode", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
# Paths served without credentials (documentation and probes); everything else needs them when users exist,
# except GraphiQL's page and files (ucs_graphql.web.graphiql) and the console's (ucs_graphql.web.console).
PUBLIC = ("/openapi.json", "/healthz", "/readyz")
# Probes answer under any Host name (a load balancer or an orchestrator may call the bare address).
PROBES = ("/healthz", "/readyz")
MAX_TENANT = 2**31 - 1
# Bulk import uploads its file, spooled to disk: its body limit is max_import_bytes.
IMPORT_PATH = "/profiles/import"
MODE_PATH = "/server/mode"


def parse_tenant(raw: str | None) -> int | None:
    """The tenant of an X-Genesys-TenantId value (absent = 1); None when it is not a positive integer."""
    if raw is None or raw.strip() == "":
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 < value <= MAX_TENANT else None


def limit_body(
    receive: Receive, limit: int, idle_seconds: float | None = None, ready: Callable[[], bool] | None = None
) -> Receive:
    """A receive that raises PayloadTooLarge once the body read so far exceeds `limit` (chunked bodies too),
    and RequestTimeout when the client sends nothing of an unfinished body for `idle_seconds`. `ready` tells
    that the next message is in hand already (the receive then returns without waiting, and no timer is set:
    the usual case, a body that came with its head)."""
    seen = 0
    finished = False

    async def limited() -> Message:
        nonlocal seen, finished
        if finished or idle_seconds is None or (ready is not None and ready()):
            message = await receive()
        else:
            try:
                async with asyncio.timeout(idle_seconds):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(f"the client sent nothing of the request body for {idle_seconds:g} s") \
                    from None
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
            finished = not message.get("more_body", False)
        else:
            finished = True
        return message

    return limited


async def read_body(receive: Receive) -> bytes | None:
    """A request's body: the messages of `receive` up to the last, joined; None when the client went away
    first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def message_ready(receive: Receive) -> Callable[[], bool] | None:
    """For uvicorn's receive: whether the request's next message is in hand (its receive then does not wait);
    None for another server's."""
    event = getattr(getattr(receive, "__self__", None), "message_event", None)
    return event.is_set if isinstance(event, asyncio.Event) else None


class Deadline:
    """The time limit of one request: its task is cancelled when the time is up, as `asyncio.timeout` does.
    `end()` tells whether the time ran out (the cancellation it caused is then taken back). Made by
    `Deadlines.start`, which times every request of one duration with one timer."""

    __slots__ = ("at", "cancelling", "ended", "expired", "task")

    def __init__(self, task: asyncio.Task[Any], at: float) -> None:
        self.task: asyncio.Task[Any] | None = task
        self.cancelling = task.cancelling()
        self.at = at
        self.expired = False
        self.ended = False

    def expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()

    def end(self) -> bool:
        self.ended = True
        task, self.task = self.task, None  # an ended request's task is not kept until the queue lets go of it
        if not self.expired or task is None:
            return False
        return task.uncancel() <= self.cancelling


class Deadlines:
    """The time limits of the requests of one duration on one event loop, under one timer. Such deadlines
    fall in the order they were set, so the timer is armed for the oldest one still running only; a request
    costs no timer handle of its own (`call_later`'s handle, its place on the loop's heap and its cancellation
    took about 3 us a request, the loop's clean-up of cancelled handles aside)."""

    __slots__ = ("loop", "pending", "seconds", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.seconds = seconds
        self.pending: deque[Deadline] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> Deadline:
        """The deadline of the request running in the current task, `seconds` from now."""
        task = asyncio.current_task()
        assert task is not None
        deadline = Deadline(task, self.loop.time() + self.seconds)
        pending = self.pending
        while pending and pending[0].ended:  # requests mostly end in the order they began
            pending.popleft()
        pending.append(deadline)
        if self.timer is None:
            self.timer = self.loop.call_at(deadline.at, self._fire)
        return deadline

    def _fire(self) -> None:
        self.timer = None
        now = self.loop.time()
        pending = self.pending
        while pending:
            first = pending[0]
            if not first.ended:
                if first.at > now:
                    break
                first.expire()
            pending.popleft()
        if pending:
            self.timer = self.loop.call_at(pending[0].at, self._fire)


async def _answer(handler: ExceptionHandler, request: Request, exc: Exception) -> Response | None:
    """What an exception handler answers (handlers may be plain or async functions)."""
    answer = cast(Callable[[Request, Exception], Any], handler)(request, exc)
    if inspect.isawaitable(answer):
        answer = await answer
    return cast(Response | None, answer)


class FrontDoor:
    """Wraps the whole application (the router, and the WebSocket exception layer); see the module docstring.

    `handlers` map exception classes (or status codes of HTTPException) to handlers answering `(request, exc)`
    with a response, as Starlette's exception middleware does; `error_handler` answers any other exception
    (a 500), after which the exception is raised again for the ASGI server to log, as Starlette's server-error
    middleware does. WebSocket connections go through `websocket_app`.
    """

    def __init__(
        self, app: ASGIApp, runtime: Runtime, metrics: Metrics, *, websocket_app: ASGIApp | None = None,
        handlers: Mapping[Any, ExceptionHandler] | None = None, error_handler: ExceptionHandler | None = None,
    ) -> None:
        self.app = app
        self.websocket_app = websocket_app or app
        self.rt = runtime
        self.metrics = metrics
        self.base = runtime.settings.base_path
        self.site = Site(runtime.settings)
        self.cors = Cors(runtime.settings, self.site)
        self.error_handler = error_handler
        exception_handlers: dict[Any, ExceptionHandler] = {}
        status_handlers: dict[int, ExceptionHandler] = {}
        for key, handler in (handlers or {}).items():
            if isinstance(key, int):
                status_handlers[key] = handler
            else:
                exception_handlers[key] = handler
        self.exception_handlers = exception_handlers
        self.status_handlers = status_handlers
        self.scope_handlers = (exception_handlers, status_handlers)
        # The request time limits' queues, by duration, of each event loop the app runs on (one, served).
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Deadlines]] = (
            weakref.WeakKeyDictionary())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[float, Deadlines] = {}

    def _deadline(self, seconds: float) -> Deadline:
        """The time limit of the current request, timed by the running loop's queue for its duration."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._queues = self._loops.setdefault(loop, {})
            self._loop = loop
        queue = self._queues.get(seconds)
        if queue is None:
            queue = self._queues[seconds] = Deadlines(loop, seconds)
        return queue.start()

    def _strip(self, path: str) -> str:
        if self.base and (path == self.base or path.startswith(self.base + "/")):
            return path[len(self.base):] or "/"
        return path

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        # Header names as the server gives them (lower case); the first X-Request-Id counts.
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            if name != "x-request-id" or name not in headers:
                headers[name] = raw_value.decode("latin-1")
        state = scope.setdefault("state", {})
        request_id = accepted_request_id(headers.get("x-request-id"))
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        try:
            if kind == "websocket":
                await self._websocket(scope, receive, send, headers, state)
            else:
                await self._http(scope, receive, send, headers, state, request_id)
        finally:
            request_id_var.reset(token)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], state: dict[str, Any]
    ) -> None:
        if "x-genesys-segment" in headers:
            state["segment"] = headers["x-genesys-segment"]
        tenant = parse_tenant(headers.get("x-genesys-tenantid"))
        gate: Gate | None = self.rt.parts.get("gate")
        state["tenant"] = tenant or 1
        # A browser names the tenant in the connection_init payload instead (ucs_graphql.graphql.app.on_ws_connect).
        state["ws_tenant_header"] = tenant if "x-genesys-tenantid" in headers else None
        try:
            self.site.check(headers, scope.get("scheme", "ws"), (scope.get("server") or ("",))[0])
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
        seconds = self.rt.settings.websocket_timeout_seconds
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                await self.websocket_app(scope, receive, send)
        except TimeoutError:
            if not deadline.expired():
                raise
            # 1001 (going away): clients reconnect, presenting their credentials again.
            log.info("WebSocket closed after %g s, the limit of a connection", seconds)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1001, "reason": "connection time limit"})

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], state: dict[str, Any],
        request_id: str,
    ) -> None:
        started = time.perf_counter()
        settings = self.rt.settings
        received = now_utc() if settings.access_log else None
        # `status` is what the client got (for the metrics); `served` what the served part answered (for the
        # status counters and the access log: the 500 of an unexpected error and the 503 of the drain
        # cut-off are answered outside it). Every answer carries the X-Request-Id header.
        status = 500
        served = 500
        response_started = False
        rid = request_id.encode("latin-1", "replace")
        origin = headers.get("origin")
        extra = [(b"x-request-id", rid), *self.cors.headers_for(origin)] if origin is not None else [
            (b"x-request-id", rid)]

        async def send_raw(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        async def send_served(message: Message) -> None:
            nonlocal status, served, response_started
            if message["type"] == "http.response.start":
                status = served = int(message["status"])
                response_started = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        if "x-genesys-segment" in headers:
            state["segment"] = headers["x-genesys-segment"]
        tenant = parse_tenant(headers.get("x-genesys-tenantid"))
        path = self._strip(scope["path"])
        bare = path.rstrip("/")
        server = self.rt.server
        exempt = bare in EXEMPT or path.startswith("/docs")
        limit = settings.max_import_bytes if bare == IMPORT_PATH else settings.max_body_bytes
        if bare == IMPORT_PATH:
            seconds = settings.import_timeout_seconds
        elif bare == MODE_PATH:
            seconds = settings.mode_switch_timeout_seconds + settings.request_timeout_seconds
        else:
            seconds = settings.request_timeout_seconds
        try:
            try:
                try:
                    try:
                        self.site.check(headers, scope.get("scheme", "http"), (scope.get("server") or ("",))[0],
                                        probe=bare in PROBES)
                        if (scope["method"] == "OPTIONS" and origin is not None
                                and "access-control-request-method" in headers):
                            allowed = self.cors.preflight(origin, headers["access-control-request-method"],
                                                          headers.get("access-control-request-headers", ""))
                            await send_served({"type": "http.response.start", "status": 204, "headers": allowed})
                            await send_served({"type": "http.response.body", "body": b""})
                            return
                        if tenant is None:
                            raise BadParameter("X-Genesys-TenantId", "the tenant id must be a positive integer, "
                                               f"not '{headers.get('x-genesys-tenantid')}'")
                        state["tenant"] = tenant
                        if not (bare in PUBLIC or path == "/docs" or path.startswith("/docs/")
                                or path.startswith(graphiql.ASSETS + "/") or console.is_console(path)
                                or (bare == "/graphql" and graphiql.wants_graphiql(
                                    scope["method"], headers.get("accept", ""),
                                    graphiql.has_query_parameter(scope.get("query_string", b""))))):
                            await self._admit(self.rt.parts.get("gate"), scope, headers, state, tenant)
                        length = headers.get("content-length")
                        if length and length.isdigit() and int(length) > limit:
                            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
                        if server.switching and not exempt:
                            raise Unavailable("the server mode is switching; retry in a moment", retry_after=1)
                    except UcsError as err:
                        await self._error(scope, send_served, err, bare == "/graphql")
                        return
                    limited = limit_body(receive, limit, settings.body_timeout_seconds, message_ready(receive))
                    # Routes' own exception wrappers (starlette.routing.request_response) read the same handlers.
                    scope["starlette.exception_handlers"] = self.scope_handlers
                    if not exempt:
                        server.enter()
                    deadline = self._deadline(seconds)
                    try:
                        try:
                            try:
                                await self.app(scope, limited, send_served)
                            finally:
                                timed_out = deadline.end()
                        except asyncio.CancelledError:
                            if not timed_out:
                                raise
                            log.warning("%s %s stopped after %g s, the limit of its kind of request", scope["method"],
                                        scope["path"], seconds)
                            if not response_started:
                                await self._error(scope, send_served, Unavailable(
                                    f"the request was stopped after {seconds:g} s, the time limit of this kind of "
                                    "request", retry_after=1), bare == "/graphql")
                            return
                    except Exception as exc:
                        handler = self._handler_for(exc)
                        if handler is None:
                            raise
                        if response_started:
                            raise RuntimeError("Caught handled exception, but response already started.") from exc
                        response = await _answer(handler, Request(scope, limited, send_served), exc)
                        if response is not None:
                            await response(scope, limited, send_served)
                        # Reused exception instances accumulate tracebacks across requests.
                        exc.__traceback__ = None
                    finally:
                        if not exempt:
                            server.leave()
                finally:
                    server.count(served)
                    if received is not None:
                        self._log(scope, headers, state, received, started, served, request_id, tenant)
            except Exception as exc:
                # An unexpected error: answered 500 by the error handler, which logs it once (without the
                # values of a failed statement). Once an answer has started, the server logs it and drops
                # the connection.
                if self.error_handler is None or response_started:
                    raise
                response = await _answer(self.error_handler, Request(scope), exc)
                if response is None:
                    raise
                await response(scope, receive, send_raw)
                exc.__traceback__ = None
        except asyncio.CancelledError:
            # Cancelled by the server at the end of the shutdown drain: a 503 rather than a bare 500.
            if response_started:
                raise
            log.warning("%s %s cut off at the end of the shutdown drain; answered 503", scope["method"], scope["path"])
            host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode("latin-1")
            uri = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
            body = jsonio.dumps(error_body("unavailable", "the server is shutting down; retry on another instance",
                                           scope["method"], uri))
            await send_raw({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"), (b"connection", b"close")]})
            await send_raw({"type": "http.response.body", "body": body})
        finally:
            op = scope.get("ucs_op")
            if not isinstance(op, str):
                op = GRAPHQL_OP if scope.get("path", "").rstrip("/").endswith("/graphql") else OTHER_OP
            self.metrics.observe(op, scope["method"], status, time.perf_counter() - started)

    def _log(
        self, scope: Scope, headers: dict[str, str], state: dict[str, Any], received: Any, started: float,
        status: int, request_id: str, tenant: int | None,
    ) -> None:
        client = scope.get("client") or ("-", 0)
        srv = scope.get("server") or ("-", 0)
        qs = scope.get("query_string", b"").decode("latin-1")
        settings = self.rt.settings
        log_request(
            fmt=settings.log_format, received=received, client=str(client[0]),
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
            extensions: dict[str, Any] = {"code": row.graphql_code, "status": row.status, "ucs_code": row.code}
            if isinstance(err, TenantForbidden):
                extensions["tenants"] = err.tenants
            payload: dict[str, Any] = {"errors": [{"message": err.description, "extensions": extensions}]}
        else:
            host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode("latin-1")
            uri = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
            payload = error_body(err.kind, err.description, scope["method"], uri)
        body = jsonio.dumps(payload)
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if isinstance(err, Unavailable):
            headers.append((b"retry-after", str(err.retry_after).encode()))
        if err.kind == "unauthenticated":
            requested_with = dict(scope.get("headers", [])).get(b"x-requested-with")
            headers.append((b"www-authenticate", challenge(
                requested_with.decode("latin-1") if requested_with is not None else None).encode()))
        await send({"type": "http.response.start", "status": row.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
