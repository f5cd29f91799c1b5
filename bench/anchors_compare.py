"""By-id lookups and identification through our front doors beside the shared anchors, in one run.

For each database (PostgreSQL, and SQLite), loads ROWS customer profiles (ids 0000000000000001…, first/last
name, e-mail, phone: the anchors' table) with an identification key on PhoneNumber into a fresh database with
the bulk writer, serves it with `ucs-graphql serve` (access log on, written to a file, as operators run it),
and drives with wrk (2 threads, 32 connections, random ids) `GET /profiles/{id}`, identification
`GET /profiles?PhoneNumber=…`, and a by-id GraphQL query. Then runs ../shared/anchors/anchors.sh with the
same ROWS and SECONDS (the Starlette+asyncpg ceiling, PostGraphile 5) and prints every line side by side:
req/s, p50/p99, p99 over the ceiling's p99, the server's CPU per request and in cores, and wrk's own CPU in
cores (so a reader sees whether the load generator was the limit). `--rounds N` repeats the whole run.

    python -m bench.anchors_compare --rows 20000 --seconds 10 [--rounds 3] [--databases postgresql,sqlite]
        [--workers 1] [--no-access-log] [--skip-anchors] [--before DIR]

`--before DIR` serves the same databases with the code of another checkout too (before this one, in each
round), for before/after figures in one run. `--ceiling-beside` also runs the anchors' ceiling app (the
anchors' venv when anchors.sh made one, else this one) on the anchors' customer table and drives it for
SECONDS right before each of our by-id and identification runs: on a machine shared with other work, the
ratio to the ceiling measured a few seconds apart is steadier than the one to anchors.sh's run.

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
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.cpu import tree_cpu_seconds
from bench.net import free_port
from ucs_graphql.config import load_settings
from ucs_graphql.context import Ctx
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.metadata import service as metadata
from ucs_graphql.profiles import bulk
from ucs_graphql.profiles.model import parse_profile
from ucs_graphql.server import service as server_service
from ucs_graphql.web.app import create_runtime, start_runtime, stop_runtime

HERE = Path(__file__).resolve().parent
# The shared anchors beside the repository (UCS_ANCHORS_DIR when the checkout lives elsewhere, e.g. a worktree).
ANCHORS = Path(os.environ.get("UCS_ANCHORS_DIR") or HERE.parent.parent / "shared" / "anchors")
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 5000


@dataclass
class Run:
    """One wrk run: what it measured and what it cost."""

    name: str
    rps: float
    p50: str
    p99: str
    bad: str
    server_us: float  # server CPU per request, microseconds
    server_cores: float  # server CPU seconds per wall second
    wrk_cores: float  # wrk's own CPU seconds per wall second

    def p99_ms(self) -> float:
        return ms(self.p99)


def ms(text: str) -> float:
    """Milliseconds of one of wrk's latency figures (`812.00us`, `4.40ms`, `1.02s`)."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk latency: {text}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qAtc", sql], check=True,
                   capture_output=True)


async def load(url: str, rows: int) -> None:
    """A fresh migrated database holding `rows` profiles shaped like the anchors' customer table, and an
    identification key on PhoneNumber (as an IVR identifies callers)."""
    await upgrade(url)
    rt = create_runtime(load_settings({"database_url": url, "access_log": False}, environ={}))
    watcher = await start_runtime(rt)
    ctx = Ctx(rt)
    try:
        await server_service.set_mode(ctx, {"mode": "maintenance"})
        await metadata.create_identification_key(ctx, {"name": "idPhone", "attributes": ["PhoneNumber"]})
        await server_service.set_mode(ctx, {"mode": "production"})
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


def wrk(name: str, script: Path, url: str, rows: int, seconds: int, server: int) -> Run:
    """One wrk run (2 threads, 32 connections) against the server process `server`."""
    before = tree_cpu_seconds(server)
    started = time.perf_counter()
    proc = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), url],
                            env={**os.environ, "ROWS": str(rows)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    cpu = tree_cpu_seconds(server) - before
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out}")
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    bad = " ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return Run(name, rps, p50, p99, bad, cpu / max(count, 1) * 1e6, cpu / wall,
               (usage.ru_utime + usage.ru_stime) / wall)


def wait_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(240):
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/profiles/0000000000000001").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer within 2 minutes")


def measure(url: str, args: argparse.Namespace, tmp: Path, code: Path | None = None,
            ceiling: Ceiling | None = None) -> tuple[list[Run], int]:
    """Serve `url` (with the code of the checkout `code`, this one by default) and time the three requests
    (each of the first two right after the ceiling when one is given: runs named "ceiling ..."); the runs and
    the bytes of access log written."""
    cfg = tmp / "bench.toml"
    cfg.write_text(f"access_log = {'true' if args.access_log else 'false'}\n")
    log = tmp / "server.log"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(code or HERE.parent)}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(port),
             "--workers", str(args.workers), "--config", str(cfg)], stdout=out, stderr=subprocess.STDOUT,
            cwd=code or HERE.parent, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, server, log)
        size = log.stat().st_size
        runs = []
        for name, script in (("REST GET /profiles/{id}", ANCHORS / "rest_by_id.lua"),
                             ("REST identify ?PhoneNumber=", HERE / "rest_identify.lua")):
            if ceiling is not None:
                runs.append(wrk(f"ceiling before {name}", ANCHORS / "rest_by_id.lua", ceiling.base, args.rows,
                                args.seconds, ceiling.proc.pid))
            runs.append(wrk(name, script, base, args.rows, args.seconds, server.pid))
        runs.append(wrk("GraphQL profile(customerId)", HERE / "gql_profile_by_id.lua", base + "/graphql", args.rows,
                        args.seconds, server.pid))
        return runs, log.stat().st_size - size
    finally:
        server.terminate()
        server.wait(30)


CUSTOMER_TABLE = """
create table customer (customer_id text primary key, first_name text not null, last_name text not null,
                       email text, phone text);
insert into customer select lpad(i::text, 16, '0'), 'First' || i, 'Last' || i, 'c' || i || '@example.com',
                            '+1555' || lpad(i::text, 7, '0') from generate_series(1, %d) i;
create index customer_phone on customer (phone);
analyze customer;
"""


@dataclass
class Ceiling:
    """The anchors' ceiling app, serving the customer table of a PostgreSQL database."""

    proc: subprocess.Popen[bytes]
    base: str


def start_ceiling(db: str, rows: int) -> Ceiling:
    """The anchors' ceiling app (ceiling_app.py, uvicorn, no access log, as anchors.sh runs it) on a customer
    table of `rows` rows made in the PostgreSQL database `db`."""
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAt"], input=CUSTOMER_TABLE % rows,
                   text=True, check=True, capture_output=True)
    peers = Path(os.environ.get("PEERS_DIR") or Path.home() / ".cache" / "ucs-peers") / "venv" / "bin" / "python"
    python = str(peers) if peers.is_file() else sys.executable
    port = free_port()
    proc = subprocess.Popen([python, "-m", "uvicorn", "--app-dir", str(ANCHORS), "ceiling_app:app", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            env={**os.environ, "CEILING_DSN": f"postgresql://postgres@127.0.0.1:5432/{db}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(base + "/profiles/0000000000000001").status_code == 200:
                return Ceiling(proc, base)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the ceiling app did not answer within a minute")


def anchors(rows: int, seconds: int) -> tuple[dict[str, tuple[float, str, str]], str]:
    """The anchors' figures (name -> req/s, p50, p99) and their lines."""
    # anchors.sh may exit non-zero from its clean-up after printing its lines: the lines are the result.
    out = subprocess.run([str(ANCHORS / "anchors.sh"), str(rows), str(seconds)], capture_output=True, text=True,
                         check=False).stdout.strip()
    found = {m.group(1): (float(m.group(2)), m.group(3), m.group(4))
             for m in re.finditer(r"^(\w+): ([\d.]+) req/s p50 (\S+) p99 (\S+)", out, re.M)}
    return found, out


def report(round_no: int, args: argparse.Namespace, ours: dict[str, tuple[list[Run], int]],
           found: dict[str, tuple[float, str, str]], lines: str) -> None:
    """Print one round: the anchors' lines, then each of our runs with its p99 over the ceiling's (anchors.sh's,
    and the one run just before it with --ceiling-beside)."""
    w = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    print(f"-- round {round_no}: {args.rows} rows, wrk 2 threads 32 connections {args.seconds} s, {w}, "
          f"access log {'on (to a file)' if args.access_log else 'off'}")
    if lines:
        print(lines)
    ceiling = found.get("ceiling")
    for engine, (runs, logged) in ours.items():
        beside: Run | None = None
        for run in runs:
            ratio = f" p99/ceiling {run.p99_ms() / ms(ceiling[2]):.2f}" if ceiling else ""
            if run.name.startswith("ceiling"):
                beside = run
            elif beside is not None:
                ratio += f", p99/ceiling beside {run.p99_ms() / beside.p99_ms():.2f}"
                beside = None
            print(f"{engine} {run.name}: {run.rps:.0f} req/s p50 {run.p50} p99 {run.p99}{ratio} "
                  f"(server CPU {run.server_us:.0f} us/request, {run.server_cores:.2f} cores; wrk "
                  f"{run.wrk_cores:.2f} cores) {run.bad}".rstrip())
        if args.access_log:
            print(f"{engine} access log: {logged / 1e6:.1f} MB written")
    for engine, (runs, _) in ours.items():
        mine = {run.name: run for run in runs}
        if ceiling:
            print(f"{engine} REST by-id req/s / ceiling: {mine['REST GET /profiles/{id}'].rps / ceiling[0]:.2f}")
        if "postgraphile" in found:
            print(f"{engine} GraphQL req/s / PostGraphile: "
                  f"{mine['GraphQL profile(customerId)'].rps / found['postgraphile'][0]:.2f}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--databases", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--skip-anchors", action="store_true")
    parser.add_argument("--before", type=Path, help="another checkout to serve the same databases with, first")
    parser.add_argument("--ceiling-beside", action="store_true",
                        help="run the ceiling right before each of our by-id and identification runs too")
    args = parser.parse_args()
    if not (ANCHORS / "rest_by_id.lua").is_file():
        parser.error(f"no anchors at {ANCHORS}: set UCS_ANCHORS_DIR to the shared anchors directory")
    engines = [e.strip() for e in args.databases.split(",") if e.strip()]
    if not set(engines) <= {"postgresql", "sqlite"}:
        parser.error("--databases takes postgresql and/or sqlite")
    db, ceiling_db = "ucs_anchor_cmp", "ucs_anchor_ceiling"
    made = ([db] if "postgresql" in engines else []) + ([ceiling_db] if args.ceiling_beside else [])
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        urls = {"postgresql": ADMIN.rsplit("/", 1)[0] + "/" + db, "sqlite": f"sqlite:///{tmp}/anchors.db"}
        started = time.perf_counter()
        for name in made:
            psql(f"drop database if exists {name} with (force)")
            psql(f"create database {name}")
        for engine in engines:
            asyncio.run(load(urls[engine], args.rows))
        print(f"loaded {args.rows} profiles into {', '.join(engines)} in {time.perf_counter() - started:.0f} s",
              flush=True)
        ceiling_app = start_ceiling(ceiling_db, args.rows) if args.ceiling_beside else None
        try:
            for round_no in range(1, args.rounds + 1):
                ours: dict[str, tuple[list[Run], int]] = {}
                for engine in engines:
                    if args.before is not None:
                        ours[f"{engine} (before: {args.before})"] = measure(urls[engine], args, tmp, args.before,
                                                                            ceiling_app)
                    ours[engine] = measure(urls[engine], args, tmp, None, ceiling_app)
                found, lines = ({}, "") if args.skip_anchors else anchors(args.rows, args.seconds)
                report(round_no, args, ours, found, lines)
        finally:
            if ceiling_app is not None:
                ceiling_app.proc.terminate()
                ceiling_app.proc.wait(30)
            for name in made:
                psql(f"drop database if exists {name} with (force)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
