"""Starlette routes built from the route table: one route per path, dispatching by method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rest_compat.call import Call
from rest_compat.routes import ROUTES, Op
from ucs_graphql.context import Ctx
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.responses import error_response

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

Authorizer = Callable[[Request, Op, Ctx], Any]


def _ctx(request: Request, runtime: Runtime) -> Ctx:
    state = request.scope.get("state", {})
    return Ctx(rt=runtime, tenant=state.get("tenant", 1), user=state.get("user"),
               request_id=state.get("request_id"))


def _endpoint(ops: dict[str, Op], runtime: Runtime, authorize: Authorizer | None) -> Callable[..., Any]:
    allow = ", ".join(sorted(ops))

    async def endpoint(request: Request) -> Response:
        op = ops.get(request.method)
        if op is None and request.method == "HEAD":
            op = ops.get("GET")
        if op is None:
            return error_response(
                "method_not_allowed", f"method {request.method} is not allowed on {request.url.path}; "
                f"allowed: {allow}", request.method, str(request.url), headers={"Allow": allow})
        request.scope["ucs_op"] = op.ref
        ctx = _ctx(request, runtime)
        if authorize is not None:
            await authorize(request, op, ctx)
        return await op.handler(Call(request, ctx))

    return endpoint


def build_routes(runtime: Runtime, authorize: Authorizer | None = None) -> list[Route]:
    """Starlette routes for every table entry, at the root and under the base path, slash optional."""
    by_path: dict[str, dict[str, Op]] = {}
    for op in ROUTES:
        by_path.setdefault(op.path, {})[op.method] = op
    prefixes = [""] + ([runtime.settings.base_path] if runtime.settings.base_path else [])
    routes: list[Route] = []
    for prefix in prefixes:
        for path, ops in by_path.items():
            endpoint = _endpoint(ops, runtime, authorize)
            full = prefix + path
            # Every method reaches the endpoint, which answers 405 with Allow itself.
            routes.append(Route(full, endpoint, methods=ALL_METHODS, include_in_schema=False))
            routes.append(Route(full + "/", endpoint, methods=ALL_METHODS, include_in_schema=False))
    return routes
