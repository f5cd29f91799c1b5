"""The application factory: routes of both doors, middleware, error handlers and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp

from rest_compat.app import build_routes
from rest_compat.openapi import openapi_routes
from ucs_graphql.access import gate as access_gate
from ucs_graphql.access.exposure import check_exposure
from ucs_graphql.config import ConfigError, Settings
from ucs_graphql.crypto import keyring
from ucs_graphql.db.engine import Database
from ucs_graphql.events.bus import make_bus
from ucs_graphql.graphql.app import UcsGraphQL
from ucs_graphql.kit.errors import UcsError
from ucs_graphql.runtime import Runtime
from ucs_graphql.server import service as server_service
from ucs_graphql.server.state import ServerState
from ucs_graphql.web import console, graphiql, heap
from ucs_graphql.web.health import health_routes
from ucs_graphql.web.looplag import LoopLag
from ucs_graphql.web.metrics import metrics_for, metrics_routes
from ucs_graphql.web.middleware import FrontDoor
from ucs_graphql.web.responses import error_response, render_error

log = logging.getLogger("ucs")
CLIENT_CLOSED = 499  # a client that closed the connection before its request had come (as proxies log it)


def create_runtime(settings: Settings) -> Runtime:
    """The runtime of one process (engines are created here but connect lazily).

    Builds the access gate from the configured users; with none, warns that the server runs open and
    refuses (ConfigError) a non-loopback host unless `allow_open_network`.
    """
    parts: dict[str, object] = {}
    gate = access_gate.install(parts, settings)
    warning = check_exposure(settings, gate.open)
    if warning:
        log.warning(warning)
    db = Database(settings.database_url, pool_size=settings.db_pool_size, timeout=settings.db_timeout_seconds,
                  statement_timeout=settings.db_statement_timeout_seconds or None)
    server = ServerState()
    parts["events"] = make_bus(settings.database_url, notify=settings.db_notify,
                               poll_seconds=settings.mode_poll_seconds, origin=server.worker_id,
                               timeout=settings.db_timeout_seconds)
    return Runtime(settings=settings, db=db, server=server, parts=parts)


async def start_runtime(rt: Runtime) -> asyncio.Task[None]:
    """Check the encryption key, load the stored mode, connect the event bus, start timing the event loop's lag
    (ucs_graphql.web.looplag) and start the watcher that follows other workers."""
    try:
        await keyring.start(rt)
    except ConfigError:
        await rt.db.dispose()
        raise
    await server_service.load_state(rt)
    await rt.parts["events"].start()
    lag = rt.parts["loop_lag"] = LoopLag()
    lag.start()
    return asyncio.create_task(server_service.watch(rt), name="ucs-mode-watcher")


async def stop_runtime(rt: Runtime, watcher: asyncio.Task[None]) -> None:
    """Stop the watcher, the loop's lag timer and the event bus, leave the worker table, close the pools."""
    watcher.cancel()
    lag = rt.parts.pop("loop_lag", None)
    if isinstance(lag, LoopLag):
        lag.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await rt.parts["events"].stop()
    await server_service.unregister(rt)
    await rt.db.dispose()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response("unknown_path", f"no resource at {request.url.path}", request.method,
                              str(request.url))
    if exc.status_code == 405:
        return error_response("method_not_allowed", f"method {request.method} is not allowed here",
                              request.method, str(request.url), headers=dict(exc.headers or {}))
    return error_response("malformed_request", str(exc.detail), request.method, str(request.url))


async def _ucs_error(request: Request, exc: Exception) -> Response:
    return render_error(request, exc)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client closed the connection before its request's body had all come: nothing was done and nobody
    # is left to answer. Not an error of the server's: one info line, and 499 (the status proxies log for a
    # client that closed its request) in the access log and the metrics.
    log.info("%s %s: the client closed the connection before the request's body had come",
             request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED)


class UcsApp(Starlette):
    """Starlette with one layer, FrontDoor, in place of Starlette's server-error and exception middleware and
    of one middleware per concern: it fixes the request id for the whole request (the unexpected-error log
    line included), measures every answer (500s included), answers exceptions with the app's handlers and
    cuts off requests at the end of the shutdown drain. WebSockets keep Starlette's exception middleware."""

    def build_middleware_stack(self) -> ASGIApp:
        rt: Runtime = self.state.runtime
        error_handler = self.exception_handlers.get(Exception) or self.exception_handlers.get(500)
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return FrontDoor(app, rt, metrics_for(rt), websocket_app=ExceptionMiddleware(app, handlers=handlers),
                         handlers=handlers, error_handler=error_handler)


def create_app(settings: Settings, runtime: Runtime | None = None, *, settle_heap: bool = False) -> Starlette:
    """The ASGI app of ucs-graphql for these settings. `settle_heap` (a served process): once started, the
    heap of startup is frozen out of garbage collection (ucs_graphql.web.heap)."""
    rt = runtime or create_runtime(settings)
    gql = UcsGraphQL(rt)
    # The REST table first: it turns away other paths at the cost of a dictionary lookup.
    routes: list[BaseRoute] = [*build_routes(rt, rt.parts.get("authorize_route"))]
    for prefix in ["", settings.base_path] if settings.base_path else [""]:
        for path in (prefix + "/graphql", prefix + "/graphql/"):
            routes.append(Route(path, gql))
            routes.append(WebSocketRoute(path, gql))
    routes += [*openapi_routes(rt), *health_routes(rt), *metrics_routes(rt)]
    routes += graphiql.asset_routes(["", settings.base_path] if settings.base_path else [""])
    routes += console.routes(["", settings.base_path] if settings.base_path else [""])

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        watcher = await start_runtime(rt)
        if settle_heap:
            heap.settle()
        try:
            yield
        finally:
            await stop_runtime(rt, watcher)

    app = UcsApp(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, UcsError: _ucs_error, ClientDisconnect: _client_gone,
                            Exception: _ucs_error},
    )
    app.state.runtime = rt
    return app
