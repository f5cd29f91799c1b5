"""Call-flow load test against a running server, and the raw database's rate for the same statements.

One call flow: identify → start service → start state → transition → start task → complete task →
complete service → query the customer's active services. `--concurrency` flows run at once; the script prints
call flows per second and p50/p99 per request. Identification runs only when the server serves /profiles
(`GET /profiles?PhoneNumber=...`, profiles seeded with `--seed-profiles`); otherwise the customer id is drawn
directly.

    python -m bench.callflow --url http://127.0.0.1:8080 --flows 3000 --concurrency 32 \
        --seed sqlite:///./var/bench.db --ceiling sqlite:///./var/bench.db

`--seed DB` gives each of `--customers` customers one completed past service (directly in the database, so
the service table holds --customers rows before the run). `--ceiling DB` runs the same statements the server
runs for one flow, through the bare driver (sqlite3, or asyncpg with a pool of --concurrency connections) in
this process, and prints that rate as the ceiling to compare with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import time
from collections import defaultdict
from typing import Any

import httpx

STEPS = ("identify", "start_service", "start_state", "transition", "start_task", "complete_task",
         "complete_service", "active_services")
TENANT = 1


def customer(n: int) -> str:
    """The id of customer n."""
    return f"B{n:07d}"


def phone(n: int) -> str:
    """The phone number of customer n."""
    return f"+1555{n:07d}"


class Recorder:
    """Latencies per step, in milliseconds."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    async def call(self, step: str, request: Any, expect: int) -> httpx.Response:
        t0 = time.perf_counter()
        resp: httpx.Response = await request
        self.ms[step].append((time.perf_counter() - t0) * 1000)
        if resp.status_code != expect:
            self.errors[step] += 1
            raise RuntimeError(f"{step}: {resp.status_code} {resp.text[:200]}")
        return resp


async def one_flow(http: httpx.AsyncClient, rec: Recorder, n: int, identify: bool) -> None:
    """Run one call flow for customer n."""
    cid = customer(n)
    if identify:
        resp = await rec.call("identify", http.get("/profiles", params={"PhoneNumber": phone(n)}), 200)
        found = resp.json()
        if isinstance(found, dict) and found.get("customer_id"):
            cid = found["customer_id"]
    sid = (await rec.call("start_service", http.post("/services/start", json={
        "service_type": 1, "customer_id": cid, "interaction_id": f"ixn{n}", "media_type": 1}), 201)).json()[
        "service_id"]
    st = (await rec.call("start_state", http.post(f"/services/{sid}/states/start", json={
        "state_type": 1, "interaction_id": f"ixn{n}"}), 201)).json()["state_id"]
    st2 = (await rec.call("transition", http.post(f"/services/{sid}/states/transition", json={
        "from": {"state_id": st, "disposition": 1}, "to": {"state_type": 8}}), 201)).json()["state_id"]
    tk = (await rec.call("start_task", http.post(f"/services/{sid}/tasks/start", json={
        "task_type": 1, "state_id": st2}), 201)).json()["task_id"]
    await rec.call("complete_task", http.post(f"/services/{sid}/tasks/{tk}/end", json={"disposition": 1}), 204)
    await rec.call("complete_service", http.post(f"/services/{sid}/end", json={"disposition": 1}), 204)
    await rec.call("active_services", http.get(f"/customers/{cid}/services/active"), 200)


async def has_profiles(http: httpx.AsyncClient) -> bool:
    """Whether the server serves the profile operations (unknown paths answer code 4041)."""
    resp = await http.get("/profiles/bench-probe")
    return not (resp.status_code == 404 and resp.json().get("code") == 4041)


async def seed_profiles(http: httpx.AsyncClient, customers: int, concurrency: int) -> None:
    """Create the customers' profiles through REST (skips ones that exist)."""
    queue = iter(range(customers))

    async def worker() -> None:
        for n in queue:
            resp = await http.post("/profiles", json={"customer_id": customer(n), "PhoneNumber": phone(n)})
            if resp.status_code not in (200, 201, 409):
                raise RuntimeError(f"seeding profile {n}: {resp.status_code} {resp.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seed_profiles_direct(url: str, customers: int) -> None:
    """Create the customers' profiles and an `idPhone` key on PhoneNumber directly in the database with the
    bulk writer (identification entries included), for seeding 100,000 customers in seconds."""
    from ucs_graphql.config import load_settings
    from ucs_graphql.context import Ctx
    from ucs_graphql.db.migrate import upgrade
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
        for lo in range(0, customers, 5000):
            docs = [parse_profile(schemas, {"customer_id": customer(n), "PhoneNumber": phone(n)}, check_values=False)
                    for n in range(lo, min(lo + 5000, customers))]

            async def work(conn: Any, docs: Any = docs) -> Any:
                return await bulk.insert_new_profiles(conn, ctx.tenant, schemas, None, docs)

            await rt.db.write(work)
    finally:
        await stop_runtime(rt, watcher)


async def seed_services(url: str, customers: int) -> None:
    """Give each customer one completed past service, directly in the database (idempotent)."""
    from sqlalchemy import func, insert, select

    from ucs_graphql.db.engine import throwaway_engine
    from ucs_graphql.db.migrate import upgrade
    from ucs_graphql.db.tables.journeys import new_id, service

    await upgrade(url)
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            have = await conn.scalar(select(func.count()).select_from(service).where(service.c.tenant_id == TENANT))
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


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def run_server(args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as http:
        identify = await has_profiles(http)
        if identify and args.seed_profiles and not args.seed:
            await seed_profiles(http, args.customers, args.concurrency)
        rec = Recorder()
        picks = iter(random.Random(7).randrange(args.customers) for _ in range(args.flows))
        failed = 0

        async def worker() -> None:
            nonlocal failed
            for n in picks:
                try:
                    await one_flow(http, rec, n, identify)
                except RuntimeError as err:
                    failed += 1
                    if failed <= 3:
                        print("flow failed:", err)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
    done = args.flows - failed
    requests = sum(len(v) for v in rec.ms.values())
    print(f"server {args.url}: {done} call flows in {elapsed:.1f}s with {args.concurrency} concurrent -> "
          f"{done / elapsed:.0f} flows/s, {requests / elapsed:.0f} requests/s ({failed} failed; identify "
          f"{'on' if identify else 'skipped: no /profiles on this server'})")
    print(f"{'request':<18}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for step in STEPS:
        ms = rec.ms.get(step)
        if ms:
            print(f"{step:<18}{percentile(ms, 50):>9.2f}{percentile(ms, 99):>9.2f}{statistics.fmean(ms):>9.2f}")


# --- the ceiling: the server's statements through the bare driver ---

_STARTED = json.dumps({"timestamp": "2024-01-01T00:00:00.000Z", "interaction_id": "ixn"})


def sqlite_flows(path: str, flows: int, customers: int) -> float:
    """Flows per second through sqlite3, one connection, one BEGIN IMMEDIATE transaction per request."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    rnd = random.Random(11)

    def tx(*stmts: tuple[str, tuple[Any, ...]]) -> list[Any]:
        db.execute("BEGIN IMMEDIATE")
        out = [db.execute(sql, params).fetchall() for sql, params in stmts]
        db.execute("COMMIT")
        return out

    svc = "SELECT * FROM service WHERE tenant_id=? AND service_id=?"
    t0 = time.perf_counter()
    for _ in range(flows):
        cid, now = customer(rnd.randrange(customers)), int(time.time() * 1000)
        sid = tx(("INSERT INTO service (tenant_id, customer_id, service_type, started_at, started) VALUES "
                  "(?,?,?,?,?) RETURNING service_id", (TENANT, cid, "1", now, _STARTED)))[0][0][0]
        ins_state = ("INSERT INTO service_state (tenant_id, service_id, state_type, previous_state_id, started_at, "
                     "started) VALUES (?,?,?,?,?,?) RETURNING state_id")
        st = tx((svc, (TENANT, sid)), (ins_state, (TENANT, sid, "1", None, now, _STARTED)))[1][0][0]
        st2 = tx((svc, (TENANT, sid)),
                 ("UPDATE service_state SET completed_at=?, completed=?, disposition=? WHERE tenant_id=? AND "
                  "state_id=? AND completed_at IS NULL AND service_id=? RETURNING *",
                  (now, _STARTED, "1", TENANT, st, sid)),
                 (ins_state, (TENANT, sid, "8", st, now, _STARTED)))[2][0][0]
        tk = tx((svc, (TENANT, sid)),
                ("INSERT INTO service_task (tenant_id, service_id, state_id, task_type, started_at, started) "
                 "VALUES (?,?,?,?,?,?) RETURNING task_id", (TENANT, sid, st2, "1", now, _STARTED)))[1][0][0]
        tx((svc, (TENANT, sid)),
           ("UPDATE service_task SET completed_at=?, completed=?, disposition=? WHERE tenant_id=? AND task_id=? "
            "AND completed_at IS NULL AND service_id=? RETURNING *", (now, _STARTED, "1", TENANT, tk, sid)))
        tx(("UPDATE service SET completed_at=?, completed=?, disposition=? WHERE tenant_id=? AND service_id=? "
            "AND completed_at IS NULL RETURNING *", (now, _STARTED, "1", TENANT, sid)))
        db.execute("BEGIN")
        db.execute("SELECT * FROM service WHERE tenant_id=? AND customer_id=? AND completed_at IS NULL "
                   "ORDER BY service_id", (TENANT, cid)).fetchall()
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return flows / elapsed


async def pg_flows(dsn: str, flows: int, customers: int, concurrency: int) -> float:
    """Flows per second through an asyncpg pool of `concurrency` connections, one transaction per request."""
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    rnd = random.Random(11)
    picks = iter(customer(rnd.randrange(customers)) for _ in range(flows))
    svc = "SELECT * FROM service WHERE tenant_id=$1 AND service_id=$2 FOR SHARE"
    ins_state = ("INSERT INTO service_state (tenant_id, service_id, state_type, previous_state_id, started_at, "
                 "started) VALUES ($1,$2,$3,$4,$5,$6) RETURNING state_id")

    async def flow(conn: Any, cid: str) -> None:
        now = int(time.time() * 1000)
        async with conn.transaction():
            sid = await conn.fetchval("INSERT INTO service (tenant_id, customer_id, service_type, started_at, "
                                      "started) VALUES ($1,$2,$3,$4,$5) RETURNING service_id",
                                      TENANT, cid, "1", now, _STARTED)
        async with conn.transaction():
            await conn.fetch(svc, TENANT, sid)
            st = await conn.fetchval(ins_state, TENANT, sid, "1", None, now, _STARTED)
        async with conn.transaction():
            await conn.fetch(svc, TENANT, sid)
            await conn.fetch("UPDATE service_state SET completed_at=$1, completed=$2, disposition=$3 WHERE "
                             "tenant_id=$4 AND state_id=$5 AND completed_at IS NULL AND service_id=$6 RETURNING *",
                             now, _STARTED, "1", TENANT, st, sid)
            st2 = await conn.fetchval(ins_state, TENANT, sid, "8", st, now, _STARTED)
        async with conn.transaction():
            await conn.fetch(svc, TENANT, sid)
            tk = await conn.fetchval("INSERT INTO service_task (tenant_id, service_id, state_id, task_type, "
                                     "started_at, started) VALUES ($1,$2,$3,$4,$5,$6) RETURNING task_id",
                                     TENANT, sid, st2, "1", now, _STARTED)
        async with conn.transaction():
            await conn.fetch(svc, TENANT, sid)
            await conn.fetch("UPDATE service_task SET completed_at=$1, completed=$2, disposition=$3 WHERE "
                             "tenant_id=$4 AND task_id=$5 AND completed_at IS NULL AND service_id=$6 RETURNING *",
                             now, _STARTED, "1", TENANT, tk, sid)
        async with conn.transaction():
            await conn.fetch("UPDATE service SET completed_at=$1, completed=$2, disposition=$3 WHERE tenant_id=$4 "
                             "AND service_id=$5 AND completed_at IS NULL RETURNING *", now, _STARTED, "1", TENANT,
                             sid)
        async with conn.transaction():
            await conn.fetch("SELECT * FROM service WHERE tenant_id=$1 AND customer_id=$2 AND completed_at IS NULL "
                             "ORDER BY service_id", TENANT, cid)

    async def worker() -> None:
        async with pool.acquire() as conn:
            for cid in picks:
                await flow(conn, cid)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    await pool.close()
    return flows / elapsed


async def run_ceiling(args: argparse.Namespace) -> None:
    url: str = args.ceiling
    if url.startswith("sqlite:///"):
        rate = await asyncio.to_thread(sqlite_flows, url[len("sqlite:///"):], args.flows, args.customers)
        how = "sqlite3, one connection"
    else:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        rate = await pg_flows(dsn, args.flows, args.customers, args.concurrency)
        how = f"asyncpg, pool of {args.concurrency}"
    print(f"ceiling ({how}, same statements and transactions, no HTTP): {rate:.0f} flows/s")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--flows", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--seed", metavar="DB_URL", help="seed one past service per customer in this database first")
    p.add_argument("--seed-profiles", action="store_true",
                   help="create the customers' profiles and a PhoneNumber key "
                        "(directly with --seed, else through REST)")
    p.add_argument("--ceiling", metavar="DB_URL", help="also run the statements through the bare driver")
    p.add_argument("--no-server", action="store_true", help="only seed and/or measure the ceiling")
    args = p.parse_args()
    if args.seed:
        if args.seed_profiles:
            await seed_profiles_direct(args.seed, args.customers)
        await seed_services(args.seed, args.customers)
    if not args.no_server:
        await run_server(args)
    if args.ceiling:
        await run_ceiling(args)


if __name__ == "__main__":
    asyncio.run(main())
