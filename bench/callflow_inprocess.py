"""The call flow through the ASGI app in process (no HTTP server, no client library): identify, start service,
start state, transition, start task, complete task, complete service, active services, as bench/callflow.lua
sends them, CONCURRENCY flows at a time, on a database bench/callflow.py seeded.

    PYTHONPATH=CHECKOUT python -m bench.callflow_inprocess --database URL --time 5 [--flows 500]

prints the process's CPU time (time.process_time) per request of each round. Under callgrind it counts the
instructions of the measured flows only, a figure the machine's other work does not move (two runs of the
same code agree within 0.2%):

    PYTHONHASHSEED=0 PYTHONPATH=CHECKOUT valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        --collect-atstart=no --toggle-collect='*qsort*' python -m bench.callflow_inprocess --database URL --flows 80

and divide the "Collected" count by 8 times FLOWS. The measured flows run inside libc's qsort (a ctypes callback),
which is what `--toggle-collect` names; the periodic work of the runtime (mode watcher, loop-lag timer, SQLite's
data-version check) is stopped first, since it runs by wall time, which valgrind stretches. On SQLite give each
run a fresh copy of the database: two runs on one file take the write lock from each other.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import json
import random
import time
from collections.abc import Callable
from typing import Any

from ucs_graphql.config import load_settings
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime


def counted(work: Callable[[], Any]) -> None:
    """Run `work` inside libc's qsort, through a ctypes comparison callback."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    done: list[bool] = []

    def compare(_a: Any, _b: Any) -> int:
        if not done:
            done.append(True)
            work()
        return 0

    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(compare)
    items = (ctypes.c_int * 2)(1, 0)
    libc.qsort(items, 2, ctypes.sizeof(ctypes.c_int), callback)


def stop_periodic(rt: Any, watcher: asyncio.Task[Any]) -> None:
    """Stop the runtime's periodic work (the mode watcher, the loop-lag timer, SQLite's data-version check):
    it runs by wall time, which valgrind stretches, and would be counted with the measured requests."""
    watcher.cancel()
    lag = rt.parts.get("loop_lag")
    if lag is not None:
        lag.stop()
    for task in getattr(rt.parts["events"], "_tasks", []):
        if task.get_name() == "ucs-data-version":
            task.cancel()


class Cycle:
    """The receive side of one request whose body came with its head, as uvicorn's request cycle gives it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.message_event = asyncio.Event()
        self.message_event.set()

    async def receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": self.body, "more_body": False}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, help="a database seeded by bench.callflow --seed")
    p.add_argument("--customers", type=int, default=20000)
    p.add_argument("--flows", type=int, default=80)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--access-log", action="store_true")
    p.add_argument("--time", type=int, default=0, help="rounds timed with process_time instead of callgrind")
    args = p.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings = load_settings({"database_url": args.database, "access_log": args.access_log}, environ={})
    rt = create_runtime(settings)
    app = create_app(settings, rt)
    watcher = loop.run_until_complete(start_runtime(rt))

    async def ask(method: str, path: str, status: int, body: bytes = b"", qs: bytes = b"") -> bytes:
        headers = [(b"host", b"localhost"), (b"user-agent", b"wrk")]
        if body:
            headers += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": qs, "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        chunks: list[bytes] = []
        got: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                got.append(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, Cycle(body).receive, send)
        answer = b"".join(chunks)
        if got != [status]:
            raise SystemExit(f"{method} {path} answered {got}: {answer[:300]!r}")
        return answer

    async def flow(n: int) -> None:
        cid = json.loads(await ask("GET", "/profiles", 200, qs=f"PhoneNumber=%2B1555{n:07d}".encode()))["customer_id"]
        sid = json.loads(await ask("POST", "/services/start", 201, (
            f'{{"service_type":1,"customer_id":"{cid}","interaction_id":"ixn{n}","media_type":1}}').encode()))[
            "service_id"]
        base = f"/services/{sid}"
        st = json.loads(await ask("POST", base + "/states/start", 201,
                                  f'{{"state_type":1,"interaction_id":"ixn{n}"}}'.encode()))["state_id"]
        st2 = json.loads(await ask("POST", base + "/states/transition", 201, (
            f'{{"from":{{"state_id":{st},"disposition":1}},"to":{{"state_type":8}}}}').encode()))["state_id"]
        tk = json.loads(await ask("POST", base + "/tasks/start", 201,
                                  f'{{"task_type":1,"state_id":{st2}}}'.encode()))["task_id"]
        await ask("POST", f"{base}/tasks/{tk}/end", 204, b'{"disposition":1}')
        await ask("POST", base + "/end", 204, b'{"disposition":1}')
        await ask("GET", f"/customers/{cid}/services/active", 200)

    rnd = random.Random(5)

    async def flows(count: int) -> None:
        for _ in range(0, count, args.concurrency):
            await asyncio.gather(*(flow(rnd.randrange(args.customers)) for _ in range(args.concurrency)))

    loop.run_until_complete(flows(40))
    try:
        if args.time:
            gc.collect()
            gc.freeze()
            for _ in range(args.time):
                started = time.process_time()
                loop.run_until_complete(flows(args.flows))
                print(f"{(time.process_time() - started) / (args.flows * 8) * 1e6:.0f} us CPU per request",
                      flush=True)
        else:
            stop_periodic(rt, watcher)
            loop.run_until_complete(asyncio.sleep(0.01))
            gc.collect()
            gc.freeze()
            counted(lambda: loop.run_until_complete(flows(args.flows)))
    finally:
        loop.run_until_complete(stop_runtime(rt, watcher))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
