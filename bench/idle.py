"""What an idle node costs the database, and how long a mode switch takes between two workers.

    python -m bench.idle [--engine sqlite|postgres|both] [--seconds 30] [--warmup 10]

For each engine a fresh database is migrated and one runtime is started on it, as `ucs-graphql serve` does
for each worker (the mode watcher, the event bus), and left idle. Over `--seconds` (after `--warmup`) it
prints what the runtime sent through its pools (statements and write transactions, counted by SQLAlchemy
hooks), the PostgreSQL transactions of that database (`pg_stat_database.xact_commit + xact_rollback`, which
backends report with a delay of up to about 10 s, hence the warm-up and a window of 30 s), the growth of the
SQLite write-ahead log, and the process's CPU time. Then a second runtime joins the same database and the
time of `POST /server/mode` (maintenance, then back to production) is measured RUNS times.

Run it from the repository root; `python bench/idle.py` with PYTHONPATH set to another checkout measures
that checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

from ucs_graphql.config import load_settings
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
RUNS = 5


class Counter:
    """Statements sent through a runtime's pools, and its write transactions."""

    def __init__(self, rt: Any) -> None:
        self.statements = 0
        self.commits = 0
        for engine in rt.db.engines():
            event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(rt.db.writer.sync_engine, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _commit(self, *_args: Any) -> None:
        self.commits += 1


async def _admin(sql: str) -> Any:
    engine = throwaway_engine(PG_ADMIN)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


async def pg_transactions(name: str) -> int:
    """Transactions PostgreSQL has counted for database `name` (read from another database)."""
    await _admin("SELECT pg_stat_clear_snapshot()")
    got = await _admin(f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{name}'")
    return int(got or 0)


def start(url: str, **overrides: Any) -> tuple[Any, Any]:
    settings = load_settings({"database_url": url, "access_log": False, "allowed_hosts": ["testserver"],
                              **overrides}, environ={})
    rt = create_runtime(settings)
    return rt, create_app(settings, rt)


async def idle_figures(engine: str, url: str, pg_name: str, seconds: float, warmup: float) -> None:
    rt, _app = start(url)
    counter = Counter(rt)
    watcher = await start_runtime(rt)
    wal = Path(url[len("sqlite:///"):] + "-wal") if engine == "sqlite" else None
    try:
        await asyncio.sleep(warmup)
        statements, commits = counter.statements, counter.commits
        checks = getattr(rt.parts["events"], "checks", None)
        wal_before = wal.stat().st_size if wal and wal.exists() else 0
        xacts = await pg_transactions(pg_name) if engine == "postgres" else 0
        cpu = time.process_time()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu
        statements, commits = counter.statements - statements, counter.commits - commits
        line = (f"{engine:8} idle {seconds:.0f} s: {statements} statements ({statements / seconds:.2f}/s), "
                f"{commits} write transactions ({commits / seconds:.2f}/s) through the pools")
        if engine == "postgres":
            xacts = await pg_transactions(pg_name) - xacts
            line += f"; pg_stat_database {xacts} transactions ({xacts / seconds:.2f}/s)"
        else:
            grown = (wal.stat().st_size if wal and wal.exists() else 0) - wal_before
            line += f"; WAL grew {grown} bytes ({grown * 300 / seconds / 1024:.0f} KB per 5 min)"
        if checks is not None:
            done = getattr(rt.parts["events"], "checks", 0) - checks
            line += f"; {done} PRAGMA data_version checks"
        print(line + f"; process CPU {cpu * 1000 / seconds:.2f} ms/s", flush=True)
    finally:
        await stop_runtime(rt, watcher)


async def switch_figures(engine: str, url: str) -> None:
    started = []
    clients = []
    for _ in range(2):
        rt, app = start(url)
        started.append((rt, await start_runtime(rt)))
        clients.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
    try:
        await asyncio.sleep(1.5)  # both registered
        took: list[float] = []
        for _ in range(RUNS):
            for mode in ("maintenance", "production"):
                began = time.perf_counter()
                resp = await clients[0].post("/server/mode", json={"mode": mode})
                took.append(time.perf_counter() - began)
                assert resp.status_code == 200, resp.text
                seen = (await clients[1].get("/server/status")).json()["mode"]
                assert seen == mode, (seen, mode)
        print(f"{engine:8} mode switch with two workers: median {statistics.median(took) * 1000:.0f} ms, "
              f"slowest {max(took) * 1000:.0f} ms ({len(took)} switches)", flush=True)
    finally:
        for client in clients:
            await client.aclose()
        for rt, watcher in started:
            await stop_runtime(rt, watcher)


async def run(engine: str, seconds: float, warmup: float) -> None:
    name = f"ucs_idle_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as folder:
        if engine == "sqlite":
            url = f"sqlite:///{folder}/idle.db"
        else:
            await _admin(f"CREATE DATABASE {name}")
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        try:
            await upgrade(url)
            await idle_figures(engine, url, name, seconds, warmup)
            await switch_figures(engine, url)
        finally:
            if engine == "postgres":
                await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def main(engines: list[str], seconds: float, warmup: float) -> None:
    logging.getLogger("ucs").setLevel(logging.ERROR)  # the open-server warning of each runtime
    for engine in engines:
        await run(engine, seconds, warmup)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--pg-url", default=PG_ADMIN, help="an existing PostgreSQL database to create others from")
    args = parser.parse_args()
    PG_ADMIN = args.pg_url
    asyncio.run(main(["sqlite", "postgres"] if args.engine == "both" else [args.engine], args.seconds, args.warmup))
