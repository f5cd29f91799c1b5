"""The application factory: routes of both doors, middleware, error handlers and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from rest_compat.app import build_routes
from rest_compat.openapi import openapi_routes
from ucs_graphql.config import Settings
from ucs_graphql.db.engine import Database
from ucs_graphql.events.bus import make_bus
from ucs_graphql.graphql.app import UcsGraphQL
from ucs_graphql.kit.errors import UcsError
from ucs_graphql.runtime import Runtime
from ucs_graphql.server import service as server_service
from ucs_graphql.web.middleware import FrontDoor
from ucs_graphql.web.responses import error_response, render_error

log = logging.getLogger("ucs")


def create_runtime(settings: Settings) -> Runtime:
    """The runtime of one process (engines are created here but connect lazily)."""
    db = Database(settings.database_url, pool_size=settings.db_pool_size, timeout=settings.db_timeout_seconds)
    rt = Runtime(settings=settings, db=db)
    rt.parts["events"] = make_bus(settings.database_url)
    return rt


async def start_runtime(rt: Runtime) -> asyncio.Task[None]:
    """Load the stored mode, connect the event bus and start the watcher that follows other workers."""
    await server_service.load_state(rt)
    await rt.parts["events"].start()
    return asyncio.create_task(server_service.watch(rt), name="ucs-mode-watcher")


async def stop_runtime(rt: Runtime, watcher: asyncio.Task[None]) -> None:
    """Stop the watcher and the event bus, leave the worker table, close the pools."""
    watcher.cancel()
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


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app of ucs-graphql for these settings."""
    rt = runtime or create_runtime(settings)
    gql = UcsGraphQL(rt)
    routes: list[BaseRoute] = [*build_routes(rt, rt.parts.get("authorize_route")), *openapi_routes(rt)]
    for prefix in ["", settings.base_path] if settings.base_path else [""]:
        for path in (prefix + "/graphql", prefix + "/graphql/"):
            routes.append(Route(path, gql, methods=["GET", "POST"]))
            routes.append(WebSocketRoute(path, gql))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        watcher = await start_runtime(rt)
        try:
            yield
        finally:
            await stop_runtime(rt, watcher)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, UcsError: _ucs_error, Exception: _ucs_error},
    )
    app.state.runtime = rt
    app.add_middleware(FrontDoor, runtime=rt)
    return app
