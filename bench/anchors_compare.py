"""By-id lookups through our two front doors beside the shared anchors, in one run.

Loads ROWS customer profiles (ids 0000000000000001…, first/last name, e-mail, phone: the anchors' table)
into a fresh PostgreSQL database with the bulk writer, serves it with `ucs-graphql serve`, and drives
with wrk (2 threads, 32 connections, random ids) the same two requests the anchors time:
`GET /profiles/{id}` (REST, against the Starlette+asyncpg ceiling) and a by-id GraphQL query (against
PostGraphile 5). Then runs ../shared/anchors/anchors.sh with the same ROWS and SECONDS and prints the
ratios of the run.

    python -m bench.anchors_compare --rows 100000 --seconds 10 [--workers 1] [--skip-anchors]

The anchors are read from ../shared/anchors beside the repository, or from UCS_ANCHORS_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.cpu import tree_cpu_seconds
from ucs_graphql.config import load_settings
from ucs_graphql.context import Ctx
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.profiles import bulk
from ucs_graphql.profiles.model import parse_profile
from ucs_graphql.web.app import create_runtime, start_runtime, stop_runtime

HERE = Path(__file__).resolve().parent
# The shared anchors beside the repository (UCS_ANCHORS_DIR when the checkout lives elsewhere, e.g. a worktree).
ANCHORS = Path(os.environ.get("UCS_ANCHORS_DIR") or HERE.parent.parent / "shared" / "anchors")
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 5000


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qAtc", sql], check=True,
                   capture_output=True)


async def load(url: str, rows: int) -> None:
    """A fresh migrated database holding `rows` profiles shaped like the anchors' customer table."""
    await upgrade(url)
    rt = create_runtime(load_settings({"database_url": url, "access_log": False}, environ={}))
    watcher = await start_runtime(rt)
    ctx = Ctx(rt)
    try:
        schemas = await ctx.schemas()
        for first in range(1, rows + 1, BATCH):
            docs = [parse_profile(schemas, {"customer_id": f"{i:016d}", "FirstName": f"First{i}",
                                            "LastName": f"Last{i}", "EmailAddress": f"c{i}@example.com",
                                            "PhoneNumber": f"+1555{i:07d}"}, check_values=False)
                    for i in range(first, min(rows, first + BATCH - 1) + 1)]

            async def work(conn, docs=docs):  # type: ignore[no-untyped-def]
                return await bulk.insert_new_profiles(conn, ctx.tenant, schemas, None, docs)

            await rt.db.write(work)
    finally:
        await stop_runtime(rt, watcher)


def wrk(script: Path, url: str, rows: int, seconds: int, server: int) -> tuple[float, str, str, str, float]:
    """Requests/s, p50, p99, non-2xx/error notes and the server's CPU microseconds per request of one wrk run."""
    before = tree_cpu_seconds(server)
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         env={**os.environ, "ROWS": str(rows)}, capture_output=True, text=True, check=True).stdout
    cpu = tree_cpu_seconds(server) - before
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    bad = " ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return rps, p50, p99, bad, cpu / max(count, 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=28080)
    parser.add_argument("--skip-anchors", action="store_true")
    args = parser.parse_args()
    if not (ANCHORS / "rest_by_id.lua").is_file():
        parser.error(f"no anchors at {ANCHORS}: set UCS_ANCHORS_DIR to the shared anchors directory")
    db = "ucs_anchor_cmp"
    url = ADMIN.rsplit("/", 1)[0] + "/" + db
    psql(f"drop database if exists {db} with (force)")
    psql(f"create database {db}")
    started = time.perf_counter()
    asyncio.run(load(url, args.rows))
    print(f"loaded {args.rows} profiles in {time.perf_counter() - started:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text("access_log = false\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(args.port),
             "--workers", str(args.workers), "--config", str(cfg)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(120):
                try:
                    if httpx.get(base + "/profiles/0000000000000001").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            rest = wrk(ANCHORS / "rest_by_id.lua", base, args.rows, args.seconds, server.pid)
            gql = wrk(HERE / "gql_profile_by_id.lua", base + "/graphql", args.rows, args.seconds, server.pid)
        finally:
            server.terminate()
            server.wait(30)
    psql(f"drop database if exists {db} with (force)")
    w = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    print(f"ucs-graphql REST GET /profiles/{{id}}: {rest[0]:.0f} req/s p50 {rest[1]} p99 {rest[2]} ({w}; server CPU "
          f"{rest[4]:.0f} us/request) {rest[3]}")
    print(f"ucs-graphql GraphQL profile(customerId): {gql[0]:.0f} req/s p50 {gql[1]} p99 {gql[2]} ({w}; server CPU "
          f"{gql[4]:.0f} us/request) {gql[3]}")
    if args.skip_anchors:
        return 0
    # anchors.sh may exit non-zero from its clean-up after printing its lines: the lines are the result.
    out = subprocess.run([str(ANCHORS / "anchors.sh"), str(args.rows), str(args.seconds)], capture_output=True,
                         text=True, check=False).stdout
    print(out.strip())
    anchor = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+): ([\d.]+) req/s", out, re.M)}
    if "ceiling" in anchor:
        print(f"REST / ceiling: {rest[0] / anchor['ceiling']:.2f}")
    if "postgraphile" in anchor:
        print(f"GraphQL / PostGraphile: {gql[0] / anchor['postgraphile']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
