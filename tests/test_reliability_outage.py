"""Contention and outages are 503 with Retry-After, never 500 and never a hang; service resumes by itself.

PostgreSQL outages go through a TCP proxy the test cuts and restores (the machine's PostgreSQL keeps
running). Locks are held by a second connection, outside the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.helpers import assert_error, error_code, gql
from tests.tcp_proxy import TcpProxy
from ucs_graphql.db.engine import sqlite_path, throwaway_engine

# Generous bound on any answer during an outage: a request that hangs fails the test instead.
HANG_GUARD_SECONDS = 20


def extension(name: str) -> dict[str, object]:
    return {"name": name, "type": "single-valued", "attributes": [{"name": "a", "type": "string", "length": 5}]}


async def create(client: httpx.AsyncClient, name: str) -> httpx.Response:
    """Create a task extension schema (a write transaction) within the hang guard."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        return await client.post("/metadata/tasks/extensions", json=extension(name))


async def stored_names(client: httpx.AsyncClient) -> list[str]:
    resp = await client.get("/metadata/tasks/extensions")
    assert resp.status_code == 200, resp.text
    return sorted(s["name"] for s in resp.json())


def assert_unavailable(resp: httpx.Response) -> None:
    assert_error(resp, 503, 5030)
    assert int(resp.headers["retry-after"]) >= 1


@contextlib.asynccontextmanager
async def write_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the write lock the server needs (SQLite: a write transaction; PostgreSQL: a table lock)."""
    path = sqlite_path(database_url)
    if path is not None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = throwaway_engine(database_url)
    try:
        async with engine.connect() as conn, conn.begin():
            await conn.execute(text("LOCK TABLE extension_schema IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()


async def test_a_lock_held_past_the_timeout_is_503_with_retry_after(make_client, database_url):
    client = await make_client(db_timeout_seconds=1.0)
    async with write_lock(database_url):
        resp = await create(client, "locked")
        assert_unavailable(resp)
        assert "busy" in resp.json()["description"]
    assert "locked" not in await stored_names(client)
    assert (await create(client, "locked")).status_code == 201
    assert await stored_names(client) == ["locked"]


async def test_a_short_lock_is_waited_out_or_retried_transparently(make_client, database_url, backend):
    client = await make_client(db_timeout_seconds=3.0)
    rt = client._transport.app.state.runtime  # type: ignore[attr-defined]
    before = rt.db.retries
    # Held longer than PostgreSQL's lock_timeout (half the timeout): the first attempt fails and is retried.
    async with write_lock(database_url):
        pending = asyncio.create_task(create(client, "patient"))
        await asyncio.sleep(2.0)
    resp = await pending
    assert resp.status_code == 201, resp.text
    assert await stored_names(client) == ["patient"]
    if backend == "postgres":
        assert rt.db.retries > before


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy in front of the test PostgreSQL (set up before the clients, so it outlives them)."""
    parts = urlsplit(database_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.close()


async def wait_ready(client: httpx.AsyncClient) -> None:
    """Poll /readyz until it answers 200 (bounded by the hang guard)."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        for _ in range(HANG_GUARD_SECONDS * 10):
            if (await client.get("/readyz")).status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("/readyz never turned ready")


@pytest.mark.postgres_only
@pytest.mark.parametrize("outage", ["reset", "blackhole"])
async def test_postgres_outage_is_503_then_service_resumes(pg_proxy, make_client, database_url, monkeypatch, outage):
    monkeypatch.setattr("ucs_graphql.web.health.READY_TTL_SECONDS", 0.0)
    client = await make_client(database_url=pg_proxy.url_for(database_url), db_timeout_seconds=1.0)
    assert (await create(client, "before")).status_code == 201
    assert (await client.get("/readyz")).status_code == 200

    pg_proxy.cut(outage)
    for name in ("during1", "during2"):  # a pooled connection first, then a new one
        assert_unavailable(await create(client, name))
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        ready = await client.get("/readyz")
    assert_unavailable(ready)
    assert "cannot be reached" in ready.json()["description"]
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        body = await gql(client, "mutation($s: JSON!) { createExtensionSchemas(level: TASK, schemas: $s) }",
                         {"s": extension("during3")})
    assert error_code(body) == "SERVICE_UNAVAILABLE", body
    assert (await client.get("/healthz")).status_code == 200  # alive, only not ready

    pg_proxy.restore()
    await wait_ready(client)
    after = await create(client, "after")
    assert after.status_code == 201, after.text
    assert await stored_names(client) == ["after", "before"]
