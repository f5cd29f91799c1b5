"""How long another client waits while password guessing or many subscriptions run against a server.

Starts `ucs-graphql serve` (one worker) with a user whose password hash is what `hash-password` writes,
then measures, each time beside a quiet baseline:

- guessing: `--attackers` clients send new wrong passwords for the account that an IVR client uses from
  the same address; the IVR client reads `/server/status` with its valid credentials meanwhile. Prints the
  guesses checked per second (401), those refused unchecked (429), and the IVR's latency.
- subscriptions: `--connections` WebSockets each ask for `--subscriptions` subscriptions to every journey
  event of the tenant; another client starts services (each one an event for every subscription) meanwhile.
  Prints the subscriptions admitted and refused and the writer's latency.

`--no-limits` raises the failed-login and subscription limits out of reach, as the server was without them.

Run: .venv/bin/python -m bench.login_attack [--database URL] [--seconds 10] [--no-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.launch import launched
from ucs_graphql.access.hashing import hash_secret

PASSWORD = "ivr-s3cret"
SUBSCRIPTION = "subscription { journeyEvents { kind serviceId } }"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


IVR = basic("ivr", PASSWORD)


def config_text(no_limits: bool) -> str:
    limits = ("login_failures_burst = 1000000000\nlogin_failures_per_minute = 1000000000\n"
              "max_subscriptions_per_connection = 1000000\nmax_subscriptions = 1000000000\n") if no_limits else ""
    return f"""access_log = false
{limits}
[[roles]]
name = "ivr"
tasks = ["UCS.SystemMgt.readServerInfo", "UCS.Service.startService", "UCS.Service.readService"]

[[users]]
name = "ivr"
password_hash = "{hash_secret(PASSWORD)}"
roles = ["ivr"]
"""


def figures(latencies: list[float]) -> str:
    if not latencies:
        return "no requests"
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{len(ms)} requests, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"


async def timed_loop(client: httpx.AsyncClient, seconds: float, request: Any) -> list[float]:
    """Run `request(client)` back to back for `seconds`; the latency of each (a request that got no answer in
    the client's timeout counts as that timeout)."""
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            resp = await request(client)
        except httpx.TimeoutException:
            out.append(time.perf_counter() - started)
            continue
        out.append(time.perf_counter() - started)
        assert resp.status_code < 300, resp.text
    return out


async def read_status(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/server/status", headers=IVR)


async def attack(url: str, args: list[str]) -> asyncio.subprocess.Process:
    """The attack of `args` in a child process (its client work must not slow the measuring client down)."""
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.login_attack", "--attack", *args,
                                                "--url", url, stdout=asyncio.subprocess.PIPE)


async def guess(url: str, attackers: int) -> None:
    """Child process: guess passwords for the IVR account until stopped; prints the answers by status twice a
    second."""
    answers: Counter[int] = Counter()
    counter = itertools.count()
    limits = httpx.Limits(max_connections=attackers)

    async def attacker(client: httpx.AsyncClient) -> None:
        while True:
            resp = await client.get("/server/status", headers=basic("ivr", f"guess-{next(counter)}"))
            answers[resp.status_code] += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as bad:
        tasks = [asyncio.create_task(attacker(bad)) for _ in range(attackers)]
        print(json.dumps(answers), flush=True)  # under way
        while True:
            await asyncio.sleep(0.5)
            with contextlib.suppress(BrokenPipeError):
                print(json.dumps(answers), flush=True)
            if any(task.done() for task in tasks):
                await asyncio.gather(*tasks)


async def last_line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    """Stop a child and return the last JSON line it printed."""
    proc.terminate()
    out, _ = await proc.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    found: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return found


async def guessing(url: str, seconds: float, attackers: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as ivr:
        assert (await read_status(ivr)).status_code == 200  # verified once, as a running IVR would be
        quiet = await timed_loop(ivr, seconds / 2, read_status)
        print(f"  IVR reads, quiet:          {figures(quiet)}")
        proc = await attack(url, ["guess", "--attackers", str(attackers)])
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), timeout=60)  # the attack is under way
        started = time.perf_counter()
        loud = await timed_loop(ivr, seconds, read_status)
        answers = {int(k): v for k, v in (await last_line(proc)).items()}
        elapsed = time.perf_counter() - started
        print(f"  IVR reads, under guessing: {figures(loud)}")
        print(f"  guesses: {answers.get(401, 0) / elapsed:.1f}/s checked (401), "
              f"{answers.get(429, 0) / elapsed:.1f}/s refused unchecked (429), "
              f"others {sum(v for k, v in answers.items() if k not in (401, 429))}")


async def start_service(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/services/start", json={"service_type": 1, "customer_id": "C1"}, headers=IVR)


async def subscribe(url: str, connections: int, per_connection: int) -> None:
    """Child process: open the subscriptions, print {"refused": N, "opened": seconds}, then read events
    (printing {"received": N} twice a second) until stopped."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    refused = received = 0
    opened = asyncio.Event()
    open_count = 0

    async def subscriber() -> None:
        nonlocal refused, received, open_count
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], additional_headers=IVR,
                                      max_queue=None, open_timeout=120) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for n in range(per_connection):
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            await ws.send(json.dumps({"type": "ping"}))
            while True:  # messages are handled in order: the pong follows every refusal
                msg = json.loads(await ws.recv())
                if msg["type"] == "pong":
                    break
                if msg["type"] == "error":
                    refused += 1
            open_count += 1
            if open_count == connections:
                opened.set()
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in ws:
                    if json.loads(raw)["type"] == "next":
                        received += 1

    started = time.perf_counter()
    tasks = [asyncio.create_task(subscriber()) for _ in range(connections)]
    await opened.wait()
    print(json.dumps({"refused": refused, "opened": time.perf_counter() - started}), flush=True)
    while True:
        await asyncio.sleep(0.5)
        with contextlib.suppress(BrokenPipeError):
            print(json.dumps({"received": received}), flush=True)
        if any(task.done() for task in tasks):
            await asyncio.gather(*tasks)


async def subscriptions(url: str, seconds: float, connections: int, per_connection: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as writer:
        quiet = await timed_loop(writer, seconds / 2, start_service)
        print(f"  writes, no subscriber:     {figures(quiet)}")
        proc = await attack(url, ["subscribe", "--connections", str(connections), "--subscriptions",
                                  str(per_connection)])
        assert proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=900))
        try:
            text = (await writer.get("/metrics", headers=IVR)).text
        except httpx.TimeoutException:
            text = "ucs_graphql_subscriptions_active (/metrics gave no answer in 60 s)"
        active = next((line.split(" ", 1)[1] for line in text.splitlines()
                       if line.startswith("ucs_graphql_subscriptions_active ")), "?")
        print(f"  subscriptions: {connections} connections x {per_connection} asked in {ready['opened']:.1f} s; "
              f"{ready['refused']} refused, ucs_graphql_subscriptions_active {active}")
        loud = await timed_loop(writer, seconds, start_service)
        print(f"  writes, with subscribers:  {figures(loud)}")
        await asyncio.sleep(1)
        print(f"  events received by subscribers: {(await last_line(proc)).get('received')}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="database URL (default: a new SQLite file)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement under attack")
    parser.add_argument("--attackers", type=int, default=20, help="concurrent password guessers")
    parser.add_argument("--connections", type=int, default=100, help="subscriber WebSockets")
    parser.add_argument("--subscriptions", type=int, default=500, help="subscriptions asked per WebSocket")
    parser.add_argument("--no-limits", action="store_true", help="raise the limits out of reach (as before)")
    parser.add_argument("--attack", choices=["guess", "subscribe"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack == "guess":
        await guess(args.url, args.attackers)
        return
    if args.attack == "subscribe":
        await subscribe(args.url, args.connections, args.subscriptions)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = args.database or f"sqlite:///{folder / 'bench.db'}"
        print(f"database {database.split('@')[-1]}, limits {'raised out of reach' if args.no_limits else 'default'}")
        async with launched(database, folder, config=config_text(args.no_limits)) as server:
            url = server.url
            print("password guessing:")
            await guessing(url, args.seconds, args.attackers)
            print("subscriptions:")
            await subscriptions(url, args.seconds, args.connections, args.subscriptions)


if __name__ == "__main__":
    asyncio.run(main())
