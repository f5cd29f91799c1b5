"""Interaction ingest and query rates through the REST door, in process (no network).

Usage: python -m bench.interactions [DATABASE_URL] [--count N] [--concurrency C]
Without a URL it uses a fresh SQLite file; a PostgreSQL URL must point at an empty database it may migrate.
Prints requests per second for ingest (with 2 KB of text each), query by id, and a customer's list.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from ucs_graphql.config import load_settings
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

TEXT = "Hello, I would like to know where my parcel is. " * 40


def _body(n: int) -> dict[str, object]:
    return {"interaction_id": f"bench-{n}", "customer_id": f"C{n % 1000:05d}", "status": 3, "entity_type": 2,
            "type": "Inbound", "media_type": "chat", "creator_app_id": 175,
            "start_date": "2024-01-01T00:00:00Z", "text": TEXT, "udata": {"ServiceType": "default", "n": n}}


async def _timed(label: str, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await one(n)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    print(f"{label:<28} {count:>7} requests  {count / elapsed:>9.0f} req/s")


async def main(url: str, count: int, concurrency: int) -> None:
    await upgrade(url)
    settings = load_settings({"database_url": url, "access_log": False}, environ={})
    rt = create_runtime(settings)
    app = create_app(settings, rt)
    watcher = await start_runtime(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:

        async def ingest(n: int) -> None:
            resp = await client.post("/interactions", json=_body(n))
            assert resp.status_code == 201, resp.text

        async def by_id(n: int) -> None:
            assert (await client.get(f"/interactions/bench-{n}")).status_code == 200

        async def by_customer(n: int) -> None:
            assert len((await client.get(f"/customers/C{n % 1000:05d}/interactions")).json()) >= 1

        print(f"database: {url.split('@')[-1]}  concurrency {concurrency}")
        await _timed("ingest (2 KB text)", count, concurrency, ingest)
        await _timed("query by id", count, concurrency, by_id)
        await _timed(f"customer list ({count // 1000 or 1} each)", count, concurrency, by_customer)
    await stop_runtime(rt, watcher)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="?")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}", args.count, args.concurrency))
