"""IVR call flows against the server, driven by wrk, beside the HTTP ceiling and the database's own rate.

One call flow: identify → start service → start state → transition → start task → complete task →
complete service → the customer's active services (8 requests). wrk runs as many threads as connections,
so each connection has a Lua state of its own and walks whole flows, reading the service, state and task
ids from the answers (bench/callflow.lua); any answer with another status than the step's is counted and
fails the run. The script starts `ucs-graphql serve` on the database itself and prints flows/s, p50/p99
per request (and of each step, so a reader sees which steps make the tail), and the CPU the server (from
/proc) and wrk (its rusage) used, so a reader can see who was the limit. In the same run it measures:

- the HTTP ceiling: ../shared/anchors/ceiling_app.py (Starlette + uvicorn + asyncpg, one SELECT per request,
  as ../shared/anchors/anchors.sh runs it) driven by wrk with the same number of connections; flows/s is
  printed beside its req/s ÷ 8 and the flow's p99 beside its p99;
- the database's own rate for the same flow: the statements and transactions the server sends for one
  flow, run straight through the bare driver from this process (asyncpg, a pool of as many connections as
  wrk has, and the events sent as the server sends them, by its Notifier; sqlite3, one connection), with
  nothing between.

    python -m bench.callflow --database sqlite:///./var/bench-flow.db --seed --customers 100000
    python -m bench.callflow --database postgresql://postgres@127.0.0.1:5432/bench_flow --seed

`--each` drives one request type at a time instead (the flow's eight, plus `GET /profiles/{id}` and
`GET /server/status` to compare with), on random customers or on items prepared directly in the database,
and prints the server's CPU per request of each: load-independent enough to compare on a busy machine.

    python -m bench.callflow --database DB_URL --each [--steps start_service,profile_by_id] --seconds 5
    python -m bench.callflow --database DB_URL --each --rounds 4 --seconds 2   # types in turn, summed

With `--rounds`, p50 and p99 are the highest of the rounds'.

`--seed` gives each of `--customers` customers a profile with a phone number under an `idPhone` key and one
completed past service, directly in the database (resumable). The HTTP ceiling needs PostgreSQL at
127.0.0.1:5432 (it uses a database of its own, dropped afterwards), whatever database the server runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import tree_cpu_seconds
from bench.net import free_port

HERE = Path(__file__).resolve().parent
# The shared anchors: UCS_ANCHORS_DIR, else ../shared/anchors beside the checkout or one folder further up.
ANCHORS = Path(os.environ.get("UCS_ANCHORS_DIR") or next(
    (d for d in (HERE.parents[1] / "shared" / "anchors", HERE.parents[2] / "shared" / "anchors") if d.is_dir()),
    HERE.parents[1] / "shared" / "anchors"))
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
STEPS = ("identify", "start_service", "start_state", "transition", "start_task", "complete_task",
         "complete_service", "active_services")
EACH = (*STEPS, "profile_by_id", "server_status")
TENANT = 1


def customer(n: int) -> str:
    """The id of customer n."""
    return f"B{n:07d}"


def phone(n: int) -> str:
    """The phone number of customer n."""
    return f"+1555{n:07d}"


# --- seeding ---

async def seed_profiles(url: str, customers: int) -> None:
    """Create the customers' profiles and an `idPhone` key on PhoneNumber directly in the database with the
    bulk writer (identification entries included); resumes after the profiles already there."""
    from sqlalchemy import func, select

    from ucs_graphql.config import load_settings
    from ucs_graphql.context import Ctx
    from ucs_graphql.db.migrate import upgrade
    from ucs_graphql.db.tables.profiles import profile
    from ucs_graphql.metadata import service as metadata
    from ucs_graphql.profiles import bulk
    from ucs_graphql.profiles.model import parse_profile
    from ucs_graphql.server import service as server
    from ucs_graphql.web.app import create_runtime, start_runtime, stop_runtime

    await upgrade(url)
    rt = create_runtime(load_settings({"database_url": url, "access_log": False}, environ={}))
    watcher = await start_runtime(rt)
    ctx = Ctx(rt)
    try:
        if (await ctx.schemas()).key("idPhone") is None:
            await server.set_mode(ctx, {"mode": "maintenance"})
            await metadata.create_identification_key(ctx, {"name": "idPhone", "attributes": ["PhoneNumber"]})
            await server.set_mode(ctx, {"mode": "production"})
        schemas = await ctx.schemas()
        async with rt.db.read() as conn:
            have = int(await conn.scalar(select(func.count()).select_from(profile)
                                         .where(profile.c.tenant_id == ctx.tenant)) or 0)
        for lo in range(have, customers, 5000):
            docs = [parse_profile(schemas, {"customer_id": customer(n), "PhoneNumber": phone(n)}, check_values=False)
                    for n in range(lo, min(lo + 5000, customers))]

            async def work(conn: Any, docs: Any = docs) -> Any:
                return await bulk.insert_new_profiles(conn, ctx.tenant, schemas, None, docs)

            await rt.db.write(work)
    finally:
        await stop_runtime(rt, watcher)


async def seed_services(url: str, customers: int) -> None:
    """Give each customer one completed past service, directly in the database (resumable)."""
    from sqlalchemy import func, insert, select

    from ucs_graphql.db.engine import throwaway_engine
    from ucs_graphql.db.tables.journeys import new_id, service

    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            have = await conn.scalar(select(func.count()).select_from(service).where(
                service.c.tenant_id == TENANT, service.c.customer_id.like("B%")))
        started = json.dumps({"timestamp": "2020-01-01T00:00:00.000Z"})
        completed = json.dumps({"timestamp": "2020-01-01T00:05:00.000Z"})
        for lo in range(int(have or 0), customers, 10_000):
            rows = [{"tenant_id": TENANT, "customer_id": customer(n), "service_type": "1",
                     "started_at": 1577836800000, "completed_at": 1577837100000, "started": started,
                     "completed": completed} for n in range(lo, min(lo + 10_000, customers))]
            async with engine.begin() as conn:
                await conn.execute(insert(service).values(new_id(conn.dialect.name, service)), rows)
    finally:
        await engine.dispose()


async def prepare(url: str, step: str, count: int, connections: int) -> list[str]:
    """Items for one request type of `--each`, made directly in the database: lines "service_id [item_id]".

    start_state, transition, start_task: one active service per connection with one active state;
    complete_task: `count` active tasks in those; complete_service: `count` active services."""
    from sqlalchemy import insert, select

    from ucs_graphql.db.engine import throwaway_engine
    from ucs_graphql.db.tables.journeys import new_id, service, state, task

    tag = f"Q{random.randrange(10**6):06d}"  # the prepared services' customer, found again by it
    now = int(time.time() * 1000)
    started = json.dumps({"timestamp": "2024-01-01T00:00:00.000Z"})
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            dialect = conn.dialect.name
            services = count if step == "complete_service" else connections
            await conn.execute(insert(service).values(new_id(dialect, service)), [
                {"tenant_id": TENANT, "customer_id": tag, "service_type": "1", "started_at": now,
                 "started": started} for _ in range(services)])
            sids = list(await conn.scalars(select(service.c.service_id).where(
                service.c.tenant_id == TENANT, service.c.customer_id == tag).order_by(service.c.service_id)))
            if step == "complete_service":
                return [str(s) for s in sids]
            await conn.execute(insert(state).values(new_id(dialect, state)), [
                {"tenant_id": TENANT, "service_id": s, "state_type": "1", "started_at": now, "started": started}
                for s in sids])
            states = {s: st for s, st in await conn.execute(select(state.c.service_id, state.c.state_id).where(
                state.c.tenant_id == TENANT, state.c.service_id.in_(sids)))}
            if step != "complete_task":
                return [f"{s} {states[s]}" for s in sids]
            await conn.execute(insert(task).values(new_id(dialect, task)), [
                {"tenant_id": TENANT, "service_id": sids[i % len(sids)], "state_id": states[sids[i % len(sids)]],
                 "task_type": "1", "started_at": now, "started": started} for i in range(count)])
            rows = await conn.execute(select(task.c.service_id, task.c.task_id).where(
                task.c.tenant_id == TENANT, task.c.service_id.in_(sids)).order_by(task.c.task_id))
            return [f"{s} {t}" for s, t in rows]
    finally:
        await engine.dispose()


# --- running things ---

@dataclass
class Run:
    """One wrk run: what it counted and the CPU each side used."""

    requests: int
    seconds: float
    completed: int  # flows, or requests of the one type
    p50_ms: float
    p99_ms: float
    server_cpu: float  # seconds
    wrk_cpu: float  # seconds
    errors: str  # empty when none
    idle_cpu: float = 0.0  # seconds the server would have used idle over the run (polling, heartbeat)
    # In the flow, each step's (requests, p50 ms, p99 ms, max ms), timed by bench/callflow.lua.
    steps: dict[str, tuple[int, float, float, float]] = field(default_factory=dict)

    @property
    def server_us(self) -> float:
        """The server's CPU per request, net of what it uses idle."""
        return max(self.server_cpu - self.idle_cpu, 0.0) / max(self.requests, 1) * 1e6

    @property
    def rate(self) -> float:
        return self.completed / self.seconds

    @property
    def req_rate(self) -> float:
        return self.requests / self.seconds


def children_cpu() -> float:
    """User plus system CPU seconds of this process's finished children."""
    got = resource.getrusage(resource.RUSAGE_CHILDREN)
    return got.ru_utime + got.ru_stime


def run_wrk(server: Server, connections: int, seconds: int, env: dict[str, str]) -> Run:
    """wrk with bench/callflow.lua, one thread per connection; the server's and wrk's CPU around it."""
    url, server_pid = server.base, server.proc.pid
    cpu0, wrk0 = tree_cpu_seconds(server_pid), children_cpu()
    proc = subprocess.run(
        ["wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(HERE / "callflow.lua"), url],
        env={**os.environ, "THREADS": str(connections), **env}, capture_output=True, text=True, check=False)
    server_cpu, wrk_cpu = tree_cpu_seconds(server_pid) - cpu0, children_cpu() - wrk0
    found = re.search(r"^CALLFLOW (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    got = {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split())}
    errors = ", ".join(f"{k} {got[k]}" for k in ("failures", "exhausted", "connect", "read", "write", "timeout",
                                                   "status") if got[k])
    if errors and proc.stderr.strip():
        errors += "\n" + proc.stderr.strip()
    steps = {}
    for line in re.findall(r"^CALLSTEP (.*)$", proc.stdout, re.M):
        step = dict(pair.split("=") for pair in line.split())
        steps[step["name"]] = (int(step["count"]), int(step["p50_us"]) / 1000, int(step["p99_us"]) / 1000,
                               int(step["max_us"]) / 1000)
    return Run(got["requests"], got["duration_us"] / 1e6, got["completed"], got["p50_us"] / 1000,
               got["p99_us"] / 1000, server_cpu, wrk_cpu, errors, server.idle_rate * got["duration_us"] / 1e6, steps)


class Server:
    """`ucs-graphql serve` on the database, in a process of its own."""

    def __init__(self, url: str, workers: int, access_log: bool, tmp: Path, extra: str = "") -> None:
        cfg = tmp / "bench.toml"
        cfg.write_text(f"access_log = {'true' if access_log else 'false'}\n" + extra)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(self.port),
             "--workers", str(workers), "--config", str(cfg)],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"))
        wait_up(self.base + "/server/status", self.proc)
        self.idle_rate = 0.0

    def measure_idle(self, seconds: float) -> None:
        """The server's CPU seconds per second while nothing asks it anything."""
        time.sleep(1)
        before = tree_cpu_seconds(self.proc.pid)
        time.sleep(seconds)
        self.idle_rate = (tree_cpu_seconds(self.proc.pid) - before) / seconds

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_up(url: str, proc: subprocess.Popen[Any]) -> None:
    for _ in range(240):
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"no answer at {url}")


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qAtc", sql], check=True,
                   capture_output=True)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


@dataclass
class Ceiling:
    """The HTTP ceiling's run."""

    rate: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # its server's CPU per request
    errors: str


def http_ceiling(rows: int, connections: int, seconds: int) -> Ceiling:
    """ceiling_app.py of the shared anchors on a customer table of `rows` rows, driven as anchors.sh drives it
    (wrk, random ids) with `connections` connections."""
    db = "ucs_callflow_ceiling"
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + "/" + db
    psql(f"drop database if exists {db} with (force)")
    psql(f"create database {db}")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAt", "-c",
                    "create table customer (customer_id text primary key, first_name text not null, "
                    "last_name text not null, email text, phone text)", "-c",
                    "insert into customer select lpad(i::text, 16, '0'), 'First' || i, 'Last' || i, "
                    f"'c' || i || '@example.com', '+1555' || lpad(i::text, 7, '0') from generate_series(1, {rows}) i",
                    "-c", "create index customer_phone on customer (phone)", "-c", "analyze customer"],
                   check=True, capture_output=True)
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(ANCHORS), "ceiling_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env={**os.environ, "CEILING_DSN": dsn}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/profiles/0000000000000001", app)
        cpu0 = tree_cpu_seconds(app.pid)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                              str(ANCHORS / "rest_by_id.lua"), f"http://127.0.0.1:{port}"],
                             env={**os.environ, "ROWS": str(rows)}, capture_output=True, text=True, check=True).stdout
        cpu = tree_cpu_seconds(app.pid) - cpu0
    finally:
        app.terminate()
        app.wait(30)
        psql(f"drop database if exists {db} with (force)")
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = " ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return Ceiling(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                   _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
                   _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
                   cpu / max(count, 1) * 1e6, bad)


# --- the database's own rate: the server's statements for one flow through the bare driver ---

_STARTED = json.dumps({"timestamp": "2024-01-01T00:00:00.000Z", "interaction_id": "ixn", "media_type": 1})
_DONE = json.dumps({"timestamp": "2024-01-01T00:00:01.000Z"})


def _event(kind: str, sid: int, cid: str | None, **ids: int) -> str:
    return json.dumps({"kind": kind, "tenant": TENANT, "service_id": sid, "customer_id": cid,
                       "timestamp": "2024-01-01T00:00:00.000Z", **ids})


def _next_id(table: str) -> str:
    return f"coalesce((SELECT last FROM id_high_water WHERE name = '{table}'), 0) + 1"


def sqlite_flows(path: str, seconds: float, customers: int) -> tuple[int, float]:
    """Flows through sqlite3 on one connection for about `seconds`: each write one BEGIN IMMEDIATE
    transaction, each read one deferred transaction, as the server does. Returns (flows, elapsed)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    rnd = random.Random(11)

    def tx(begin: str, *stmts: tuple[str, tuple[Any, ...]]) -> list[Any]:
        db.execute(begin)
        out = [db.execute(sql, params).fetchall() for sql, params in stmts]
        db.execute("COMMIT")
        return out

    svc = "SELECT * FROM service WHERE tenant_id = ? AND service_id = ?"
    ins_state = ("INSERT INTO service_state (tenant_id, state_id, service_id, state_type, previous_state_id, "
                 f"started_at, started) VALUES (?, {_next_id('service_state')}, ?, ?, ?, ?, ?) RETURNING state_id")
    w = "BEGIN IMMEDIATE"
    flows, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n, now = rnd.randrange(customers), int(time.time() * 1000)
        cid = tx("BEGIN", ("SELECT customer_id FROM ident_entry WHERE tenant_id = ? AND key = ? AND value = ?",
                           (TENANT, "idphone", "=" + phone(n))))[0][0][0]
        sid = tx(w, ("INSERT INTO service (tenant_id, service_id, customer_id, service_type, started_at, started) "
                     f"VALUES (?, {_next_id('service')}, ?, ?, ?, ?) RETURNING service_id",
                     (TENANT, cid, "1", now, _STARTED)))[0][0][0]
        st = tx(w, (svc, (TENANT, sid)), (ins_state, (TENANT, sid, "1", None, now, _STARTED)))[1][0][0]
        st2 = tx(w, (svc, (TENANT, sid)),
                 ("UPDATE service_state SET completed_at = ?, completed = ?, disposition = ? WHERE tenant_id = ? AND "
                  "state_id = ? AND completed_at IS NULL AND service_id = ? RETURNING *",
                  (now, _DONE, "1", TENANT, st, sid)),
                 (ins_state, (TENANT, sid, "8", st, now, _STARTED)))[2][0][0]
        tk = tx(w, (svc, (TENANT, sid)),
                ("SELECT * FROM service_state WHERE tenant_id = ? AND service_id = ? AND state_id = ?",
                 (TENANT, sid, st2)),
                ("INSERT INTO service_task (tenant_id, task_id, service_id, state_id, task_type, started_at, started) "
                 f"VALUES (?, {_next_id('service_task')}, ?, ?, ?, ?, ?) RETURNING task_id",
                 (TENANT, sid, st2, "1", now, _STARTED)))[2][0][0]
        tx(w, (svc, (TENANT, sid)),
           ("UPDATE service_task SET completed_at = ?, completed = ?, disposition = ? WHERE tenant_id = ? AND "
            "task_id = ? AND completed_at IS NULL AND service_id = ? RETURNING *", (now, _DONE, "1", TENANT, tk, sid)))
        tx(w, ("UPDATE service SET completed_at = ?, completed = ?, disposition = ? WHERE tenant_id = ? AND "
               "service_id = ? AND completed_at IS NULL RETURNING *", (now, _DONE, "1", TENANT, sid)))
        tx("BEGIN", ("SELECT * FROM service WHERE tenant_id = ? AND customer_id = ? AND completed_at IS NULL "
                     "ORDER BY service_id + 0", (TENANT, cid)))
        flows += 1
    elapsed = time.perf_counter() - t0
    db.close()
    return flows, elapsed


async def pg_flows(dsn: str, seconds: float, customers: int, concurrency: int, notify: bool) -> tuple[int, float]:
    """Flows through an asyncpg pool of `concurrency` connections for about `seconds`, with the statements the
    server sends (ucs_graphql.journeys.writes): reads in autocommit, each write one statement (its checks as
    WITH clauses) that commits by itself, then its event sent by the server's own Notifier (one connection,
    the events of the writes that commit meanwhile coalesced into one notifying transaction), the write
    waiting for it as the server's answer does. `notify=False` leaves the events out."""
    import asyncpg

    from ucs_graphql.events.bus import CHANNEL, Notifier

    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    notifier = Notifier(dsn, CHANNEL, "bench callflow notify")
    rnd = random.Random(11)
    srv = ("srv AS (SELECT service.customer_id, service.completed_at FROM service WHERE service.tenant_id = $1 "
           "AND service.service_id = $2 FOR SHARE)")
    start_service = ("INSERT INTO service (tenant_id, customer_id, service_type, started_at, started) VALUES "
                     "($1, $2, $3, $4, $5) RETURNING service.service_id")
    start_state = (f"WITH {srv}, ins AS (INSERT INTO service_state (tenant_id, service_id, state_type, started_at, "
                   "started) SELECT $1, $2, $3, $4, $5 FROM srv WHERE srv.completed_at IS NULL RETURNING "
                   "service_state.state_id) SELECT srv.customer_id, srv.completed_at, ins.state_id "
                   "FROM srv LEFT OUTER JOIN ins ON true")
    transition = (f"WITH {srv}, done AS (UPDATE service_state SET completed_at = $3, completed = $4, disposition = $5 "
                  "WHERE service_state.tenant_id = $1 AND service_state.state_id = $6 AND service_state.completed_at "
                  "IS NULL AND service_state.service_id = $2 AND (EXISTS (SELECT srv.customer_id FROM srv WHERE "
                  "srv.completed_at IS NULL)) RETURNING service_state.state_id), ins AS (INSERT INTO service_state "
                  "(tenant_id, previous_state_id, service_id, started, started_at, state_type) SELECT $1, $6, $2, $7, "
                  "$3, $8 FROM done RETURNING service_state.state_id) SELECT srv.customer_id, srv.completed_at, "
                  "done.state_id, ins.state_id FROM srv LEFT OUTER JOIN done ON true LEFT OUTER JOIN ins ON true")
    start_task = (f"WITH {srv}, named AS (SELECT service_state.state_id, service_state.completed_at FROM "
                  "service_state WHERE service_state.tenant_id = $1 AND service_state.service_id = $2 AND "
                  "service_state.state_id = $3 FOR SHARE), ins AS (INSERT INTO service_task (tenant_id, service_id, "
                  "started, started_at, state_id, task_type) SELECT $1, $2, $4, $5, $3, $6 FROM srv LEFT OUTER JOIN "
                  "named ON true WHERE srv.completed_at IS NULL AND named.state_id IS NOT NULL AND named.completed_at "
                  "IS NULL RETURNING service_task.task_id) SELECT srv.customer_id, srv.completed_at, named.state_id, "
                  "named.completed_at, ins.task_id FROM srv LEFT OUTER JOIN named ON true LEFT OUTER JOIN ins ON true")
    complete_task = (f"WITH {srv}, done AS (UPDATE service_task SET completed_at = $3, completed = $4, disposition = "
                     "$5 WHERE service_task.tenant_id = $1 AND service_task.task_id = $6 AND "
                     "service_task.completed_at IS NULL AND service_task.service_id = $2 AND (EXISTS (SELECT "
                     "srv.customer_id FROM srv)) RETURNING service_task.task_id, service_task.state_id) SELECT "
                     "srv.customer_id, srv.completed_at, done.task_id, done.state_id FROM srv "
                     "LEFT OUTER JOIN done ON true")
    complete_service = ("UPDATE service SET completed_at = $3, completed = $4, disposition = $5 WHERE "
                        "service.tenant_id = $1 AND service.service_id = $2 AND service.completed_at IS NULL "
                        "RETURNING service.customer_id")

    async def sent(kind: str, sid: int, cid: str, **ids: int) -> None:
        if notify:
            await notifier.send([_event(kind, sid, cid, **ids)])

    async def flow(conn: Any, n: int) -> None:
        now = int(time.time() * 1000)
        cid = await conn.fetchval("SELECT ident_entry.customer_id FROM ident_entry WHERE ident_entry.tenant_id = $1 "
                                  "AND ident_entry.key = $2 AND ident_entry.value = $3", TENANT, "idphone",
                                  "=" + phone(n))
        sid = (await conn.fetchrow(start_service, TENANT, cid, "1", now, _STARTED))[0]
        await sent("service_started", sid, cid)
        st = (await conn.fetchrow(start_state, TENANT, sid, "1", now, _STARTED))[2]
        await sent("state_started", sid, cid, state_id=st)
        st2 = (await conn.fetchrow(transition, TENANT, sid, now, _DONE, "1", st, _STARTED, "8"))[3]
        await sent("state_transition", sid, cid, state_id=st2, from_state_id=st)
        tk = (await conn.fetchrow(start_task, TENANT, sid, st2, _STARTED, now, "1"))[4]
        await sent("task_started", sid, cid, state_id=st2, task_id=tk)
        await conn.fetchrow(complete_task, TENANT, sid, now, _DONE, "1", tk)
        await sent("task_completed", sid, cid, state_id=st2, task_id=tk)
        await conn.fetchrow(complete_service, TENANT, sid, now, _DONE, "1")
        await sent("service_completed", sid, cid)
        await conn.fetch("SELECT * FROM service WHERE service.tenant_id = $1 AND service.customer_id = $2 AND "
                         "service.completed_at IS NULL ORDER BY service.service_id + 0", TENANT, cid)

    flows = 0
    t0 = time.perf_counter()
    end = t0 + seconds

    async def worker() -> None:
        nonlocal flows
        async with pool.acquire() as conn:
            while time.perf_counter() < end:
                await flow(conn, rnd.randrange(customers))
                flows += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    await notifier.stop()
    await pool.close()
    return flows, elapsed


def database_rate(url: str, seconds: int, customers: int, concurrency: int, notify: bool = True) -> tuple[float, str]:
    """Flows/s of the flow's statements through the bare driver, and how they were run."""
    if url.startswith("sqlite:///"):
        flows, elapsed = sqlite_flows(url[len("sqlite:///"):], seconds, customers)
        return flows / elapsed, "sqlite3, one connection"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    flows, elapsed = asyncio.run(pg_flows(dsn, seconds, customers, concurrency, notify))
    return flows / elapsed, f"asyncpg, pool of {concurrency}"


# --- the runs ---

def _cpu_line(run: Run) -> str:
    return (f"server CPU {run.server_cpu / run.seconds * 100:.0f}% of a core "
            f"({run.server_us:.0f} us/request net of idle), wrk CPU "
            f"{run.wrk_cpu / run.seconds * 100:.0f}% of a core ({run.wrk_cpu / max(run.requests, 1) * 1e6:.0f} "
            f"us/request)")


def flow_run(args: argparse.Namespace, server: Server) -> Run:
    run = run_wrk(server, args.connections, args.seconds, {"CUSTOMERS": str(args.customers)})
    print(f"call flows: {run.rate:.0f} flows/s ({run.req_rate:.0f} req/s, {run.completed} flows in "
          f"{run.seconds:.1f} s, {args.connections} connections), per request p50 {run.p50_ms:.2f} ms "
          f"p99 {run.p99_ms:.2f} ms", flush=True)
    print(f"  {_cpu_line(run)}", flush=True)
    if run.steps:
        print("  by step (from making the request to its answer):", ", ".join(
            f"{name} p50 {p50:.1f} p99 {p99:.1f}" for name, (_n, p50, p99, _max) in run.steps.items()), "ms",
              flush=True)
    return run


def each_run(args: argparse.Namespace, server: Server, tmp: Path) -> list[str]:
    """One request type at a time, in `--rounds` rounds that take the types in turn (so a machine whose load
    changes changes every type's figures alike); returns the failures."""
    steps = args.steps.split(",") if args.steps else list(EACH)
    for step in steps:
        if step not in EACH:
            raise SystemExit(f"unknown step {step}: one of {', '.join(EACH)}")
    failed: list[str] = []
    runs: dict[str, list[Run]] = {step: [] for step in steps}
    for _ in range(args.rounds):
        for step in steps:
            env = {"CUSTOMERS": str(args.customers), "STEP": step}
            if step in ("start_state", "transition", "start_task", "complete_task", "complete_service"):
                lines = asyncio.run(prepare(args.database, step, args.prepare or args.seconds * 5000,
                                            args.connections))
                ids = tmp / f"{step}.ids"
                ids.write_text("\n".join(lines) + "\n")
                env["IDS"] = str(ids)
            run = run_wrk(server, args.connections, args.seconds, env)
            runs[step].append(run)
            if run.errors:
                failed.append(f"{step}: {run.errors}")
    print(f"{'request':<18}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server us/req':>15}{'wrk us/req':>12}"
          + ("   server us/req by round" if args.rounds > 1 else ""), flush=True)
    cpu: dict[str, float] = {}
    for step, done in runs.items():
        requests = sum(r.requests for r in done)
        seconds = sum(r.seconds for r in done)
        cpu[step] = sum(max(r.server_cpu - r.idle_cpu, 0.0) for r in done) / max(requests, 1) * 1e6
        wrk_us = sum(r.wrk_cpu for r in done) / max(requests, 1) * 1e6
        rounds = "   " + " ".join(f"{r.server_us:.0f}" for r in done) if args.rounds > 1 else ""
        print(f"{step:<18}{requests / seconds:>8.0f}{max(r.p50_ms for r in done):>9.2f}"
              f"{max(r.p99_ms for r in done):>9.2f}{cpu[step]:>15.0f}{wrk_us:>12.0f}{rounds}", flush=True)
    if "profile_by_id" in cpu:
        base = cpu["profile_by_id"]
        print("server CPU per request / GET /profiles/{id}: " + ", ".join(
            f"{s} {c / base:.2f}" for s, c in cpu.items() if s != "profile_by_id"))
    return failed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, help="sqlite:///FILE or postgresql://...")
    p.add_argument("--seed", action="store_true", help="seed profiles and past services first (resumable)")
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=16, help="wrk connections, one thread each")
    p.add_argument("--seconds", type=int, default=10, help="of each measurement")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--access-log", action="store_true", help="run the server with its access log on")
    p.add_argument("--pool-size", type=int, help="the server's db_pool_size (readers; writers are half of it)")
    p.add_argument("--each", action="store_true", help="one request type at a time instead of flows")
    p.add_argument("--steps", help=f"with --each, a comma-separated subset of: {', '.join(EACH)}")
    p.add_argument("--prepare", type=int, help="with --each, items prepared for each completing type")
    p.add_argument("--rounds", type=int, default=1,
                   help="with --each, run the types in turn this many times (each --seconds long) and sum")
    p.add_argument("--idle-seconds", type=float, default=5, help="to measure the idle server's CPU first")
    p.add_argument("--no-http-ceiling", action="store_true")
    p.add_argument("--no-db-ceiling", action="store_true")
    args = p.parse_args()
    if args.seed:
        asyncio.run(seed_profiles(args.database, args.customers))
        asyncio.run(seed_services(args.database, args.customers))
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server = Server(args.database, args.workers, args.access_log, tmp,
                        f"db_pool_size = {args.pool_size}\n" if args.pool_size else "")
        try:
            server.measure_idle(args.idle_seconds)
            print(f"idle server: {server.idle_rate * 1000:.0f} ms of CPU per second (subtracted from the server's "
                  "CPU per request below)", flush=True)
            if args.each:
                failed = each_run(args, server, tmp)
            else:
                flow = flow_run(args, server)
                if flow.errors:
                    failed.append(f"call flow: {flow.errors}")
        finally:
            server.stop()
    if not args.each and not failed:
        if not args.no_http_ceiling:
            ceiling = http_ceiling(args.customers, args.connections, args.seconds)
            print(f"HTTP ceiling (anchors' ceiling_app.py, {args.connections} connections): {ceiling.rate:.0f} req/s "
                  f"p50 {ceiling.p50_ms:.2f} ms p99 {ceiling.p99_ms:.2f} ms ({ceiling.cpu_us:.0f} us CPU/request) "
                  f"{ceiling.errors}", flush=True)
            print(f"  flows/s {flow.rate:.0f} vs ceiling req/s / 8 = {ceiling.rate / 8:.0f}: "
                  f"{flow.rate / (ceiling.rate / 8) * 100:.0f}%; flow p99 / ceiling p99 = "
                  f"{flow.p99_ms / ceiling.p99_ms:.2f}", flush=True)
        if not args.no_db_ceiling:
            rate, how = database_rate(args.database, args.seconds, args.customers, args.connections)
            print(f"database's own rate ({how}, the flow's statements and transactions, no HTTP): "
                  f"{rate:.0f} flows/s; server flows/s = {flow.rate / rate * 100:.0f}% of it", flush=True)
            if not args.database.startswith("sqlite"):
                quiet, _ = database_rate(args.database, args.seconds, args.customers, args.connections, notify=False)
                print(f"  the same statements without their events' NOTIFYs: {quiet:.0f} flows/s", flush=True)
    for line in failed:
        print("FAILED", line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
