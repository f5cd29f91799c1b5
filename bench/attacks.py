"""How long another client waits while an attacker sends what a GraphQL document must not be allowed to cost:
fragment bombs, long comments and strings, huge id lists in variables, and many distinct documents.

A server runs as its own process. A victim sends `{ serverStatus { mode } }` in a loop; for each attack,
attackers send the attack document over and over for a few seconds while the victim's waits are recorded.
Printed per attack: what the server answered the attacker, how many attack requests it answered, the
victim's median and worst wait, and the server's resident memory after the attack.

Run: .venv/bin/python -m bench.attacks [--database URL] [--seconds 5] [--attackers 4] [--only distinct]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.net import free_port

SIMPLE = {"query": "{ serverStatus { mode } }"}


def fragment_bomb(width: int, depth: int) -> str:
    """`query { ...F0 }`, each fragment `serverStatus { mode }` and `width` spreads of the next."""
    frags = []
    for i in range(depth):
        spreads = " ".join(f"...F{i + 1}" for _ in range(width)) if i + 1 < depth else ""
        frags.append(f"fragment F{i} on Query {{ serverStatus {{ mode }} {spreads} }}")
    return "query { ...F0 } " + " ".join(frags)


def _distinct(size: int) -> Callable[[int], dict[str, Any]]:
    fields = " ".join(f"f{j}: serverStatus {{ mode }}" for j in range(25))
    pad = "# " + "x" * (size - 200) + "\n"

    def body(i: int) -> dict[str, Any]:
        return {"query": f"{pad}query Q{i} {{ {fields} }}"}

    return body


ATTACKS: list[tuple[str, Callable[[int], dict[str, Any]], bool]] = [
    # (name, the request body for attack number i, whether every request is the same)
    ("fragment bomb 6 wide, 8 deep (644 chars)", lambda i: {"query": fragment_bomb(6, 8)}, True),
    ("fragment bomb 20 wide, 10 deep (1.6 KB)", lambda i: {"query": fragment_bomb(20, 10)}, True),
    ("15 MB comment", lambda i: {"query": "# " + "x" * 15_000_000 + "\n{ serverStatus { mode } }"}, True),
    ("15 MB string literal",
     lambda i: {"query": '{ profile(customerId: "' + "x" * 15_000_000 + '") { customerId } }'}, True),
    ("300,000 ids in a variable", lambda i: {
        "query": "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId } }",
        "variables": {"ids": [f"customer-{n}" for n in range(300_000)]}}, True),
    ("distinct 60 KB documents", _distinct(60_000), False),
]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _victim_loop(base_url: str, seconds: float) -> list[float]:
    waits: list[float] = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            resp = await client.post("/graphql", json=SIMPLE, timeout=600)
            waits.append(time.perf_counter() - started)
            assert resp.status_code == 200, resp.text
            await asyncio.sleep(0.01)
    return waits


def _victim_process(base_url: str, seconds: float, out: Any) -> None:
    out.put(asyncio.run(_victim_loop(base_url, seconds)))


async def _victim(base_url: str, seconds: float) -> list[float]:
    """The victim's waits over `seconds`, measured in a process of its own (the attackers' work on their
    bodies does not hold its event loop)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_victim_process, args=(base_url, seconds, queue))
    proc.start()
    waits: list[float] = await asyncio.to_thread(queue.get)
    await asyncio.to_thread(proc.join)
    return waits


async def _attacker(client: httpx.AsyncClient, make: Callable[[int], dict[str, Any]], same: bool,
                    stop: asyncio.Event, counter: list[int], answers: dict[str, int], first: int) -> None:
    i = first
    fixed = _encode(make(i)) if same else b""
    while not stop.is_set():
        content = fixed if same else _encode(make(i))
        i += 1000
        resp = await client.post("/graphql", content=content, headers={"content-type": "application/json"},
                                 timeout=600)
        counter[0] += 1
        try:
            errors = resp.json().get("errors") or []
            code = errors[0]["extensions"]["code"] if errors else "ok"
        except ValueError:
            code = "not JSON"
        key = f"{resp.status_code} {code}"
        answers[key] = answers.get(key, 0) + 1


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def _run(base_url: str, pid: int, seconds: float, attackers: int, only: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=attackers)) as client:
        waits = await _victim(base_url, seconds)
        print(f"{'attack':42} {'answer to the attacker':28} {'attacks':>7} {'victim':>6} {'median':>8} "
              f"{'worst':>8} {'RSS':>8}")
        print(f"{'(none)':42} {'':28} {0:7} {len(waits):6} {statistics.median(waits) * 1000:6.1f}ms "
              f"{max(waits) * 1000:6.1f}ms {_rss_mb(pid):6.0f}MB")
        for name, make, same in ATTACKS:
            if only not in name:
                continue
            counter = [0]
            answers: dict[str, int] = {}
            stop = asyncio.Event()
            tasks = [asyncio.create_task(_attacker(client, make, same, stop, counter, answers, n))
                     for n in range(attackers)]
            await asyncio.sleep(0.5)  # the attack is under way before the victim starts
            waits = await _victim(base_url, seconds)
            stop.set()
            await asyncio.gather(*tasks)
            shown = ", ".join(f"{k} x{v}" for k, v in sorted(answers.items()))
            print(f"{name:42} {shown:28} {counter[0]:7} {len(waits):6} {statistics.median(waits) * 1000:6.1f}ms "
                  f"{max(waits) * 1000:6.1f}ms {_rss_mb(pid):6.0f}MB")


async def main() -> None:
    """Start the server, run every attack, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each attack runs")
    parser.add_argument("--attackers", type=int, default=4, help="concurrent attack requests")
    parser.add_argument("--only", default="", help="run only the attacks whose name contains this text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/attacks.db"
        config = Path(tmp) / "ucs.toml"
        config.write_text("access_log = false\n")
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ucs_graphql.cli", "serve", "--port", str(port), "--database", database,
            "--config", str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base_url) as client:
                for _ in range(600):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            print(f"server pid {proc.pid} on {database}; each attack {args.seconds:g} s, {args.attackers} attackers")
            await _run(base_url, proc.pid, args.seconds, args.attackers, args.only)
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
