"""Identification by phone at scale, through HTTP.

Loads N profiles, each with one record of a multi-valued `Phone` extension, straight into the tables with
the bulk writer (profiles.bulk, batches of 5,000, index entries included); then starts `ucs-graphql serve`
on the database and times `GET /profiles?Phone.PhoneNumber=…` (a phone-normalised key, queried in another
format than stored) for random customers. Prints p50/p99 latency and requests per second for each
client concurrency. The load comes from `wrk` when it is installed (a C client, so the measurement is the
server's, not a Python client's), otherwise from httpx. Loading resumes where a previous run stopped, so a
database can be reused.

    python -m bench.identify --database sqlite:///./var/bench-1m.db --profiles 1000000
    python -m bench.identify --database postgresql://postgres@127.0.0.1:5432/bench --profiles 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.net import free_port
from ucs_graphql.config import load_settings
from ucs_graphql.context import Ctx
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.metadata import service as metadata
from ucs_graphql.profiles import bulk
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.model import parse_profile
from ucs_graphql.server import service as server
from ucs_graphql.web.app import create_runtime, start_runtime, stop_runtime

PHONE = {"name": "Phone", "type": "multi-valued", "unique": ["PhoneNumber"], "attributes": [
    {"name": "PhoneType", "type": "integer", "default": 0},
    {"name": "PhoneNumber", "type": "string", "length": 20, "mandatory": True}]}
KEY = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}
BATCH = 5000


def stored_phone(i: int) -> str:
    return f"+1555{i:07d}"


def queried_phone(i: int) -> str:
    digits = f"{i:07d}"
    return f"+1 (555) {digits[:3]}-{digits[3:]}"


async def load(url: str, n: int) -> None:
    """Create the schema and key when absent, then bulk-insert profiles up to n."""
    await upgrade(url)
    rt = create_runtime(load_settings({"database_url": url, "access_log": False}, environ={}))
    watcher = await start_runtime(rt)
    ctx = Ctx(rt)
    try:
        if (await ctx.schemas()).extension("profile", "Phone") is None:
            await metadata.create_extension_schemas(ctx, "profile", PHONE)
            await server.set_mode(ctx, {"mode": "maintenance"})
            await metadata.create_identification_key(ctx, KEY)
            await server.set_mode(ctx, {"mode": "production"})
        schemas = await ctx.schemas()
        async with rt.db.read() as conn:
            have = await profile_store.count(conn, ctx.tenant)
        started = time.perf_counter()
        for first in range(have, n, BATCH):
            docs = [parse_profile(schemas, {"FirstName": f"c{i}", "Phone": [{"PhoneNumber": stored_phone(i)}]},
                                  check_values=False) for i in range(first, min(n, first + BATCH))]

            async def work(conn, docs=docs):
                return await bulk.insert_new_profiles(conn, ctx.tenant, schemas, None, docs)

            await rt.db.write(work)
            done = min(n, first + BATCH)
            if (done // BATCH) % 20 == 0 or done == n:
                rate = (done - have) / (time.perf_counter() - started)
                print(f"  loaded {done:,} profiles ({rate:,.0f}/s)", flush=True)
    finally:
        await stop_runtime(rt, watcher)



def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`ucs-graphql serve` on the database, its output in a log file."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as cfg:
        cfg.write("access_log = false\n")
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(port),
         "--config", cfg.name], stdout=out, stderr=subprocess.STDOUT, env={**os.environ})


async def wait_ready(base: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/server/status")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start; see its log")


async def drive(base: str, n: int, requests: int, concurrency: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) for `requests` identifications by `concurrency` clients."""
    rng = random.Random(concurrency)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        async def one(record: bool) -> None:
            i = rng.randrange(n)
            t0 = time.perf_counter()
            resp = await client.get("/profiles", params={"Phone.PhoneNumber": queried_phone(i)})
            elapsed = time.perf_counter() - t0
            if resp.status_code != 200 or not isinstance(resp.json(), dict):
                raise RuntimeError(f"unexpected answer for customer {i}: {resp.status_code} {resp.text[:200]}")
            if record:
                latencies.append(elapsed * 1000)

        async def worker(count: int, record: bool) -> None:
            for _ in range(count):
                await one(record)

        await asyncio.gather(*(worker(50, False) for _ in range(concurrency)))  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // concurrency, True) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    qs = statistics.quantiles(latencies, n=100)
    return qs[49], qs[98], len(latencies) / wall


WRK_SCRIPT = """
math.randomseed(%(seed)d)
request = function()
  local i = math.random(0, %(last)d)
  return wrk.format("GET", string.format("/profiles?Phone.PhoneNumber=%%%%2B1%%%%20(555)%%%%20%%07d", i))
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def drive_wrk(base: str, n: int, seconds: int, concurrency: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) measured by wrk with `concurrency` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"seed": concurrency, "last": n - 1})
    run = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script.name, base]
    subprocess.run([*run[:3], "-d2s", *run[4:]], capture_output=True, check=True)  # warm up
    out = subprocess.run(run, capture_output=True, check=True, text=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"some identifications failed:\n{out}")
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return p50, p99, rps


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=4000, help="per concurrency, with the httpx client")
    parser.add_argument("--seconds", type=int, default=10, help="per concurrency, with wrk")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts")
    args = parser.parse_args()
    print(f"loading {args.profiles:,} profiles into {args.database.split('@')[-1]}", flush=True)
    await load(args.database, args.profiles)
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"ucs-bench-{port}.log"
    proc = start_server(args.database, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base)
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            if shutil.which("wrk"):
                p50, p99, rps = drive_wrk(base, args.profiles, args.seconds, concurrency)
            else:
                p50, p99, rps = await drive(base, args.profiles, args.requests, concurrency)
            print(f"profiles={args.profiles:,} concurrency={concurrency}: p50={p50:.2f} ms p99={p99:.2f} ms "
                  f"{rps:,.0f} req/s", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
