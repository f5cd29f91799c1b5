"""Starlette routes built from the route table: one route per path, dispatching by method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from rest_compat.call import Call
from rest_compat.routes import ROUTES, Op
from ucs_graphql.context import Ctx
from ucs_graphql.kit.errors import NotFound
from ucs_graphql.metadata.model import INT32, INT64
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.responses import error_response

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

Authorizer = Callable[[Request, Op, Ctx], Any]

# The ranges of the ids in `{...:int}` path segments: service ids are 64-bit, state and task ids 32-bit (the
# reference's types and the columns holding them); `id` is the service of /services/{id}/interactions.
_ID_RANGES = {"service_id": INT64, "id": INT64, "state_id": INT32, "task_id": INT32}


def check_path_ids(params: dict[str, Any]) -> None:
    """A path naming an id beyond its range names no resource: NotFound (404), as for any id that does not
    exist, before the id reaches the database."""
    for name, value in params.items():
        bounds = _ID_RANGES.get(name)
        if bounds is None or not isinstance(value, int) or bounds[0] <= value <= bounds[1]:
            continue
        if name in ("service_id", "id"):
            raise NotFound(f"service {value} does not exist")
        raise NotFound(f"{name.removesuffix('_id')} {value} of service {params.get('service_id')} does not exist")


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
        check_path_ids(request.path_params)
        return await op.handler(Call(request, ctx))

    return endpoint


class SegmentGroup:
    """The routes whose path starts with one segment (e.g. `/profiles`), tried only for such paths.

    Starlette tries routes one by one; with ~150 REST paths (and their slash and base-path variants), grouping
    by first segment keeps matching to a dictionary lookup and a few regular expressions. A route without
    parameters matches its own path only: those are found in a dictionary (when no route listed before them
    matches that path too). Routes with parameters are tried in order among those that can match a path of
    that many segments whose last two segments are the path's or parameters (a parameter matches one
    segment, except a `:path` one, which is always tried): `/services/7/tasks/3/end` tries the few routes of
    that shape instead of every route under `/services` (17 regular expressions for a state's start).
    """

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.literal: dict[str, Route] = {}
        self.parameterised: list[Route] = []
        for index, route in enumerate(routes):
            if route.param_convertors:
                self.parameterised.append(route)
                continue
            probe = {"type": "http", "path": route.path, "root_path": "", "method": "GET"}
            if not any(earlier.matches(probe)[0] is not Match.NONE for earlier in routes[:index]):
                self.literal.setdefault(route.path, route)
        # (segments, last two segments, each None for one no route names) -> the parameterised routes that can
        # match such a path, in order.
        self.spans = [r for r in self.parameterised
                      if any(type(c).__name__ == "PathConvertor" for c in r.param_convertors.values())]
        shapes = [(r, r.path.split("/")) for r in self.parameterised if r not in self.spans]
        self.named = {parts[i] for _, parts in shapes for i in (-1, -2) if "{" not in parts[i]}
        self.by_shape: dict[tuple[int, str | None, str | None], list[Route]] = {}
        for count in {len(parts) for _, parts in shapes}:
            for last in (*self.named, None):
                for before in (*self.named, None):
                    fits = {id(r) for r, parts in shapes if len(parts) == count
                            and ("{" in parts[-1] or parts[-1] == last) and ("{" in parts[-2] or parts[-2] == before)}
                    self.by_shape[(count, last, before)] = [
                        r for r in self.parameterised if r in self.spans or id(r) in fits]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL with the child scope (and the matched route under `ucs_route`), or NONE."""
        path = get_route_path(scope)
        literal = self.literal.get(path)
        if literal is not None:
            match, child = literal.matches(scope)
            if match is not Match.NONE:
                return Match.FULL, {**child, "ucs_route": literal}
            candidates = self.routes
        else:
            parts = path.split("/")
            named = self.named
            candidates = self.by_shape.get((len(parts), parts[-1] if parts[-1] in named else None,
                                            parts[-2] if parts[-2] in named else None), self.spans)
        for route in candidates:
            match, child = route.matches(scope)
            if match is not Match.NONE:
                return Match.FULL, {**child, "ucs_route": route}
        return Match.NONE, {}


class RestRoutes(BaseRoute):
    """Every REST route of the table, dispatched by the first path segment after the prefix (the root, then
    the base path). Listed first among the app's routes: a path outside the table costs two dictionary
    lookups, and a REST request tries no other route."""

    def __init__(self, prefixes: list[tuple[str, dict[str, SegmentGroup]]]) -> None:
        self.prefixes = [(prefix + "/" if prefix else "", groups) for prefix, groups in prefixes]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = get_route_path(scope)  # without the root path the app is mounted under, as Starlette's routes
        for prefix, groups in self.prefixes:
            if prefix:
                if not path.startswith(prefix):
                    continue
                rest = path[len(prefix) - 1:]
            else:
                rest = path
            group = groups.get(rest.split("/", 2)[1] if rest.startswith("/") else "")
            if group is not None:
                match, child = group.matches(scope)
                if match is not Match.NONE:
                    return match, child
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: Route = scope["ucs_route"]
        if route.methods and scope["method"] not in route.methods:
            await route.handle(scope, receive, send)  # 405, as Starlette answers a method no route serves
            return
        # The endpoint straight away: exceptions are answered by the app's handlers in the front door, as
        # Starlette's per-route wrapper (starlette.routing.request_response) would with the same handlers.
        response = await route.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def build_routes(runtime: Runtime, authorize: Authorizer | None = None) -> list[BaseRoute]:
    """Routes for every table entry, at the root and under the base path, slash optional."""
    by_path: dict[str, dict[str, Op]] = {}
    for op in ROUTES:
        by_path.setdefault(op.path, {})[op.method] = op
    prefixes = [""] + ([runtime.settings.base_path] if runtime.settings.base_path else [])
    tables: list[tuple[str, dict[str, SegmentGroup]]] = []
    for prefix in prefixes:
        grouped: dict[str, list[Route]] = {}
        for path, ops in by_path.items():
            endpoint = _endpoint(ops, runtime, authorize)
            full = prefix + path
            routes = grouped.setdefault(path.split("/", 2)[1], [])
            # Every method reaches the endpoint, which answers 405 with Allow itself.
            routes.append(Route(full, endpoint, methods=ALL_METHODS, include_in_schema=False))
            routes.append(Route(full + "/", endpoint, methods=ALL_METHODS, include_in_schema=False))
        tables.append((prefix, {segment: SegmentGroup(routes) for segment, routes in grouped.items()}))
    return [RestRoutes(tables)]
