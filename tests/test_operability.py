"""Operability through the front door: /healthz, /readyz, /metrics, X-Request-Id and the log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.helpers import assert_error, gql
from tests.server_process import serve
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.migrate import head_revision
from ucs_graphql.server import service as server_service
from ucs_graphql.web.health import READY_TTL_SECONDS
from ucs_graphql.web.logging import make_handler
from ucs_graphql.web.metrics import count_import, metrics_for, subscription_ended, subscription_started


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition (None when absent)."""
    for line in exposition.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        metric, _, rest = series.partition("{")
        if metric != name:
            continue
        found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if "=" in part)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture
def capture_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """Attach a handler of the given format to the root logger; yields a function returning its stream."""
    root = logging.getLogger()
    added: list[logging.Handler] = []
    level = root.level

    def attach(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        handler = make_handler(fmt, stream)
        root.addHandler(handler)
        added.append(handler)
        root.setLevel(logging.INFO)
        return stream

    yield attach
    for handler in added:
        root.removeHandler(handler)
    root.setLevel(level)


async def test_healthz_and_readyz_answer_when_all_is_well(client):
    resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "alive"}
    resp = await client.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ready", "revision": head_revision()}


async def test_readyz_is_unready_while_the_schema_is_not_current(make_client, database_url, monkeypatch):
    monkeypatch.setattr("ucs_graphql.web.health.READY_TTL_SECONDS", 0.0)
    client = await make_client()
    engine = throwaway_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        resp = await client.get("/readyz")
        assert_error(resp, 503, 5030, "the database schema is at revision older")
        assert resp.headers["retry-after"]
        assert (await client.get("/healthz")).status_code == 200
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})
        await engine.dispose()
    assert (await client.get("/readyz")).status_code == 200


async def test_readiness_verdict_is_cached_briefly(client):
    assert READY_TTL_SECONDS > 0
    first = await client.get("/readyz")
    second = await client.get("/readyz")
    assert first.json() == second.json()


async def test_metrics_count_requests_by_reference_operation_and_status(client):
    await client.get("/metadata/profiles")
    await client.get("/metadata/profiles")
    await client.get("/metadata/identification-keys/nope")
    await gql(client, "{ __typename }")
    await client.get("/no/such/path")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    body = resp.text
    assert sample(body, "ucs_http_requests_total", operation="CV.WS.PROF.META.1", method="GET", status="200") == 2
    assert sample(body, "ucs_http_requests_total", operation="CV.WS.PROF.META.6", method="GET", status="404") == 1
    assert sample(body, "ucs_http_requests_total", operation="graphql", method="POST", status="200") == 1
    assert sample(body, "ucs_http_requests_total", operation="other", method="GET", status="404") == 1
    assert sample(body, "ucs_http_request_duration_seconds_count", operation="CV.WS.PROF.META.1", method="GET",
                  status="200") == 2
    assert sample(body, "ucs_http_request_duration_seconds_bucket", operation="CV.WS.PROF.META.1", method="GET",
                  status="200", le="+Inf") == 2
    for name in ("ucs_graphql_subscriptions_active", "ucs_import_rows_total", "ucs_import_errors_total"):
        assert sample(body, name) == 0, name
    # The mode watcher works in the background: its connection and a retried acknowledgement may show up here.
    for name in ("ucs_db_pool_connections_in_use", "ucs_db_pool_waiting", "ucs_db_write_retries_total",
                 "ucs_requests_in_flight"):
        value = sample(body, name)
        assert value is not None and 0 <= value <= 2, (name, value)
    assert sample(body, "ucs_server_mode", mode="production") == 1
    # Garbage collections are counted (each holds the event loop); an app built in-process (tests, tools)
    # freezes nothing of its process's heap, only a served process does.
    assert sample(body, "ucs_gc_collections_total", generation="2") is not None
    assert sample(body, "ucs_gc_longest_pause_seconds", generation="2") is not None
    assert sample(body, "ucs_gc_tracked_objects") > 0
    assert sample(body, "ucs_gc_frozen_objects") == 0


async def test_metrics_follow_the_counters_other_contexts_feed(client):
    rt = client._transport.app.state.runtime  # type: ignore[attr-defined]
    subscription_started(rt)
    subscription_started(rt)
    subscription_ended(rt)
    count_import(rt, rows=7, errors=2)
    rt.db.retries += 3
    body = (await client.get("/metrics")).text
    assert sample(body, "ucs_graphql_subscriptions_active") == 1
    assert sample(body, "ucs_import_rows_total") == 7
    assert sample(body, "ucs_import_errors_total") == 2
    assert sample(body, "ucs_db_write_retries_total") == 3
    assert metrics_for(rt) is metrics_for(rt)


async def test_a_served_process_freezes_its_startup_heap_out_of_full_collections(tmp_path, database_url):
    # A full garbage collection holds the event loop while it walks every tracked object (70-100 ms for the
    # ~135,000 of a started server, the tail of by-id reads): a served process freezes the objects of startup,
    # so a full collection walks only what was made since.
    async with serve(tmp_path, database_url) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        for n in range(300):
            assert (await http.get(f"/profiles/nobody{n}")).status_code == 404
        body = (await http.get("/metrics")).text
    frozen, walked = sample(body, "ucs_gc_frozen_objects"), sample(body, "ucs_gc_tracked_objects")
    assert frozen is not None and walked is not None
    assert frozen > 50_000, frozen
    assert walked < frozen / 10, (walked, frozen)
    assert (sample(body, "ucs_gc_collections_total", generation="0") or 0) > 0
    settled = [r for r in server.log_records() if "heap settled" in r.get("message", "")]
    assert len(settled) == 1, settled


async def test_request_id_is_accepted_or_generated_and_returned(client):
    resp = await client.get("/server/status", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/server/status")).headers["x-request-id"]
    assert len(generated) == 16 and int(generated, 16) >= 0
    unsafe = await client.get("/server/status", headers={"X-Request-Id": "a b\tc"})
    assert unsafe.headers["x-request-id"] not in ("a b\tc", "")
    assert " " not in unsafe.headers["x-request-id"]
    assert (await client.get("/healthz", headers={"X-Request-Id": "probe-1"})).headers["x-request-id"] == "probe-1"


@pytest.mark.parametrize("fmt", ["ucs", "json"])
async def test_every_log_line_of_a_request_carries_its_request_id(make_client, capture_logs, monkeypatch, fmt):
    client = await make_client(access_log=True, log_format=fmt)
    stream = capture_logs(fmt)  # after start-up, whose lines belong to no request
    original = server_service.status

    def noisy_status(ctx):
        logging.getLogger("ucs.test").warning("working on it")
        return original(ctx)

    monkeypatch.setattr(server_service, "status", noisy_status)
    assert (await client.get("/server/status", headers={"X-Request-Id": "rid-ok"})).status_code == 200

    def broken_status(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(server_service, "status", broken_status)
    app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        resp = await raw.get("/server/status", headers={"X-Request-Id": "rid-500"})
    assert resp.status_code == 500
    assert "boom" not in resp.text
    lines = [line for line in stream.getvalue().splitlines() if line and not line.startswith(("Traceback", " "))]
    lines = [line for line in lines if not line.startswith(("RuntimeError", "During handling", "The above"))]
    lines = [line for line in lines if "HTTP Request:" not in line]  # the test client's own lines
    assert len(lines) >= 4, lines  # a log line and an access line per request, and the error line
    if fmt == "json":
        docs = [json.loads(line) for line in lines]
        assert {d["request_id"] for d in docs} == {"rid-ok", "rid-500"}, docs
        access = [d for d in docs if d.get("logger") == "ucs.access"]
        assert {(d["status"], d["method"]) for d in access} == {(200, "GET"), (500, "GET")}
        assert any(d.get("message") == "working on it" and d["request_id"] == "rid-ok" for d in docs)
        assert any("exception" in d and d["request_id"] == "rid-500" for d in docs)
    else:
        assert all("[rid-ok]" in line or "[rid-500]" in line for line in lines), lines
        assert any("working on it" in line and "[rid-ok]" in line for line in lines)
        assert any("unexpected error" in line and "[rid-500]" in line for line in lines)


async def test_operational_paths_are_in_the_openapi_document(client):
    doc = (await client.get("/openapi.json")).json()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert doc["paths"][path]["get"]["x-ucs-operational"] is True
    assert "503" in doc["paths"]["/readyz"]["get"]["responses"]


async def test_operational_paths_answer_under_the_base_path(make_client):
    client = await make_client(base_path="/cv")
    for path in ("/cv/healthz", "/cv/readyz", "/cv/metrics"):
        assert (await client.get(path)).status_code == 200, path


async def test_metrics_show_how_late_the_event_loop_ran(client):
    # Whatever holds the event loop's thread holds every request in flight: /metrics samples the loop's lag.
    await asyncio.sleep(0.25)  # a few ticks on time
    time.sleep(0.15)  # noqa: ASYNC251 (the point: the loop's thread held, the tick due meanwhile runs late)
    await asyncio.sleep(0.01)
    body = (await client.get("/metrics")).text
    ticks = sample(body, "ucs_event_loop_lag_seconds_count")
    assert ticks is not None and ticks >= 3, ticks
    late = ticks - (sample(body, "ucs_event_loop_lag_seconds_bucket", le="0.025") or 0)
    assert late >= 1, body
    assert (sample(body, "ucs_event_loop_longest_lag_seconds") or 0) >= 0.04
    assert (sample(body, "ucs_event_loop_lag_seconds_sum") or 0) >= 0.04
