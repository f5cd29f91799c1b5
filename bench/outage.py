"""Time to answer while PostgreSQL is away, and time to recover: prints seconds per situation.

    python -m bench.outage [--url postgresql://postgres@127.0.0.1:5432/test] [--timeout 2]

A TCP proxy between the unit of work and PostgreSQL is cut ("reset": connections dropped and refused;
"blackhole": packets silently dropped) and restored; each line is one read transaction's outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from urllib.parse import urlsplit

from sqlalchemy import text

from tests.tcp_proxy import TcpProxy
from ucs_graphql.db.engine import Database


async def probe(db: Database) -> tuple[float, str]:
    """Seconds one read transaction took, and its outcome."""
    started = time.monotonic()
    try:
        async with db.read() as conn:
            await conn.execute(text("SELECT 1"))
        outcome = "ok"
    except Exception as err:
        outcome = type(err).__name__
    return time.monotonic() - started, outcome


async def main(url: str, db_timeout: float) -> None:
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    db = Database(proxy.url_for(url), timeout=db_timeout, pool_size=2)
    print(f"db_timeout_seconds={db_timeout}")
    try:
        await probe(db)
        for outage in ("reset", "blackhole"):
            proxy.cut(outage)
            for label in ("pooled connection", "new connection"):
                seconds, outcome = await probe(db)
                print(f"{outage:9} {label:17} {seconds:6.3f} s  {outcome}")
            proxy.restore()
            seconds, outcome = await probe(db)
            print(f"{'restored':9} {'first request':17} {seconds:6.3f} s  {outcome}")
    finally:
        await db.dispose()
        await proxy.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.timeout))
