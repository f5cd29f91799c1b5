"""Prometheus metrics of one serving process: requests and latency per reference operation, the database
pool, write retries, subscriptions and imports; GET /metrics. Requests are measured by the front door
(ucs_graphql.web.middleware.FrontDoor).

Other contexts count their events with the functions at the bottom (subscription_started/ended,
count_import); each takes the Runtime, whose metrics live in their own registry (rt.parts["metrics"]).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ucs_graphql.access.gate import Gate, principal_of
from ucs_graphql.access.tasks import READ_SERVER_INFO
from ucs_graphql.kit.errors import Forbidden
from ucs_graphql.runtime import Runtime
from ucs_graphql.server.state import MODES
from ucs_graphql.web.heap import GENERATIONS, GcWatch, walked_objects
from ucs_graphql.web.looplag import LoopLag

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The operation label of requests that no route-table row names.
GRAPHQL_OP = "graphql"
OTHER_OP = "other"


class _RuntimeCollector:
    """Figures read from the runtime at scrape time: pool, waiters, retries, in-flight requests, mode."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        db = self.rt.db
        yield GaugeMetricFamily("ucs_db_pool_connections_in_use", "Database connections checked out of the pool",
                                value=db.pool_in_use())
        yield GaugeMetricFamily("ucs_db_pool_waiting", "Callers waiting for a database connection",
                                value=db.waiting)
        yield CounterMetricFamily("ucs_db_write_retries", "Write transactions retried after contention",
                                  value=db.retries)
        yield CounterMetricFamily("ucs_db_quick_reads", "SQLite reads by key run on the event loop's thread",
                                  value=db.quick_reads)
        yield CounterMetricFamily("ucs_db_quick_read_fallbacks",
                                  "SQLite reads by key sent to the driver's thread (no quick reader free, or busy)",
                                  value=db.quick_fallbacks)
        yield CounterMetricFamily("ucs_db_quick_writes", "SQLite journey writes run on the event loop's thread",
                                  value=db.quick_writes)
        yield GaugeMetricFamily("ucs_requests_in_flight", "Requests being served (operational paths aside)",
                                value=self.rt.server.inflight)
        mode = GaugeMetricFamily("ucs_server_mode", "1 for the mode this process serves in", labels=["mode"])
        for name in MODES:
            mode.add_metric([name], 1.0 if self.rt.server.mode == name else 0.0)
        yield mode
        gate = self.rt.parts.get("gate")
        authenticator = getattr(gate, "authenticator", None)
        if authenticator is not None:
            yield CounterMetricFamily("ucs_auth_slow_checks", "Credentials checked with the slow hash",
                                      value=authenticator.slow_checks)
            yield CounterMetricFamily("ucs_auth_throttled", "Credentials answered 429 unchecked (too many wrong ones)",
                                      value=authenticator.throttled)
        yield from _gc_metrics()
        lag = self.rt.parts.get("loop_lag")
        if isinstance(lag, LoopLag):
            yield HistogramMetricFamily("ucs_event_loop_lag", "How late the event loop ran a timer due every 0.1 s: "
                                        "the wait of every request in flight at that moment",
                                        buckets=lag.cumulative(), sum_value=lag.total, unit="seconds")
            yield GaugeMetricFamily("ucs_event_loop_longest_lag_seconds",
                                    "The latest the event loop ran its 0.1 s timer since the process started",
                                    value=lag.longest)


def _gc_metrics() -> Iterator[Metric]:
    """The garbage collector's pauses (each stops the event loop) and the objects a full collection walks."""
    watch = GcWatch.installed()
    collections = CounterMetricFamily("ucs_gc_collections", "Garbage collections by generation (2: full)",
                                      labels=["generation"])
    pauses = CounterMetricFamily("ucs_gc_pause_seconds", "Time spent in garbage collections by generation, "
                                 "the event loop standing still", labels=["generation"])
    longest = GaugeMetricFamily("ucs_gc_longest_pause_seconds", "The longest garbage-collection pause of the "
                                "process by generation", labels=["generation"])
    for generation in GENERATIONS:
        label = [str(generation)]
        collections.add_metric(label, watch.collections[generation])
        pauses.add_metric(label, watch.seconds[generation])
        longest.add_metric(label, watch.longest[generation])
    yield from (collections, pauses, longest)
    yield GaugeMetricFamily("ucs_gc_frozen_objects", "Objects of startup frozen out of garbage collection",
                            value=gc.get_freeze_count())
    yield GaugeMetricFamily("ucs_gc_tracked_objects", "Objects a full garbage collection walks",
                            value=walked_objects())


class Metrics:
    """The metrics of one runtime, in a registry of its own (several apps may share a process in tests)."""

    def __init__(self, rt: Runtime) -> None:
        self.registry = CollectorRegistry()
        labels = ["operation", "method", "status"]
        self.requests = Counter("ucs_http_requests", "HTTP requests answered, by reference operation id",
                                labels, registry=self.registry)
        self.latency = Histogram("ucs_http_request_duration_seconds", "Time to answer an HTTP request",
                                 labels, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.subscriptions = Gauge("ucs_graphql_subscriptions_active", "Open GraphQL subscriptions",
                                   registry=self.registry)
        self.import_rows = Counter("ucs_import_rows", "Bulk-import rows stored", registry=self.registry)
        self.import_errors = Counter("ucs_import_errors", "Bulk-import rows refused", registry=self.registry)
        self.plan_fallbacks = Counter("ucs_graphql_plan_fallbacks",
                                      "GraphQL requests whose compiled plan gave way to the full path: reason "
                                      "'error' when a resolver or variable refused, 'unexpected' when the plan "
                                      "itself failed", ["reason"], registry=self.registry)
        self.registry.register(_RuntimeCollector(rt))
        GcWatch.installed()
        # The labelled children by (operation, method, status): looking them up through labels() each time
        # costs more than counting.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, operation: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (operation, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (operation, method, str(status))
            children = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


def metrics_for(rt: Runtime) -> Metrics:
    """The runtime's metrics, made on first use."""
    found = rt.parts.get("metrics")
    if not isinstance(found, Metrics):
        found = rt.parts["metrics"] = Metrics(rt)
    return found


def check_reader(rt: Runtime, request: Request) -> None:
    """Refuse /metrics to a caller who may not read every tenant's figures: the figures are the whole
    process's, all tenants together, so the caller needs the server-information task and no tenant binding
    (docs/operations.md, "Metrics"). A server without users serves them to everyone."""
    gate = rt.parts.get("gate")
    if not isinstance(gate, Gate) or gate.open:
        return
    gate.require(request, READ_SERVER_INFO, "read the metrics")
    principal = principal_of(request)
    if principal is not None and principal.tenants is not None:
        raise Forbidden(f"user '{principal.name}' may not read the metrics: they count every tenant's requests, "
                        "and the user is bound to tenants")


def metrics_routes(rt: Runtime) -> list[BaseRoute]:
    """GET /metrics (at the root and under the base path)."""
    metrics = metrics_for(rt)

    async def endpoint(request: Request) -> Response:
        request.scope["ucs_op"] = "ops.metrics"
        check_reader(rt, request)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    prefixes = ["", rt.settings.base_path] if rt.settings.base_path else [""]
    return [Route(prefix + "/metrics", endpoint, methods=["GET"]) for prefix in prefixes]


# --- for other contexts ---

def subscription_started(rt: Runtime) -> None:
    """A GraphQL subscription opened."""
    metrics_for(rt).subscriptions.inc()


def subscription_ended(rt: Runtime) -> None:
    """A GraphQL subscription closed."""
    metrics_for(rt).subscriptions.dec()


def count_plan_fallback(rt: Runtime, unexpected: bool) -> None:
    """A compiled GraphQL plan gave way to the full path."""
    metrics_for(rt).plan_fallbacks.labels("unexpected" if unexpected else "error").inc()


def count_import(rt: Runtime, rows: int, errors: int = 0) -> None:
    """A bulk-import batch stored `rows` rows and refused `errors`."""
    metrics = metrics_for(rt)
    metrics.import_rows.inc(rows)
    metrics.import_errors.inc(errors)
