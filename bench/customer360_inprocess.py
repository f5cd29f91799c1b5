"""CPU time per request of the customer-360 documents in process, through the ASGI app (no HTTP server, no
client library): the load-independent measure of what the application itself costs per request.

    PYTHONPATH=CHECKOUT python -m bench.customer360_inprocess --database URL [--requests 1500] [--rounds 3]
                                                            [--concurrency 8] [--documents nested,360]

The database must hold the data bench/customer360.py loads (see bench/customer360_ab.py). Each round runs
REQUESTS requests of each document, CONCURRENCY at a time, for random customers (after 50 to warm up), and
prints the process's CPU time (time.process_time) per request; the median of the rounds comes last. Run it for
two checkouts in turn (PYTHONPATH) to compare them.

With --callgrind it runs REQUESTS requests of each document once, after the warm-up, inside libc's qsort (as
bench/callflow_inprocess.py does), with the runtime's periodic work stopped, so that callgrind counts the
instructions of those requests only, a figure the machine's other work does not move:

    PYTHONHASHSEED=0 PYTHONPATH=CHECKOUT valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        --collect-atstart=no --toggle-collect='*qsort*' python -m bench.customer360_inprocess --database URL \\
        --callgrind --documents 360 --requests 200

and divide the "Collected" count by REQUESTS (give one document per run).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import time
from typing import Any

from bench.callflow_inprocess import counted, stop_periodic
from bench.customer360 import DOCUMENTS, cid
from ucs_graphql.config import load_settings
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime


def _asker(app: Any, customers: int) -> Any:
    """ask(document, i): the answer's body to the document for customer 1 + i * 37 % customers."""

    async def ask(doc: str, i: int) -> bytes:
        body = json.dumps({"query": doc, "variables": {"id": cid(1 + i * 37 % customers)}}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        given = False
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return b"".join(chunks)

    return ask


async def _requests(ask: Any, doc: str, args: argparse.Namespace) -> None:
    """REQUESTS requests of the document, CONCURRENCY at a time."""
    for first in range(0, args.requests, args.concurrency):
        await asyncio.gather(*(ask(doc, i) for i in range(first, min(args.requests, first + args.concurrency))))


async def _rounds(ask: Any, names: list[str], args: argparse.Namespace) -> None:
    found: dict[str, list[float]] = {}
    for round_no in range(1, args.rounds + 1):
        for name in names:
            doc = DOCUMENTS[name]
            for i in range(50):
                await ask(doc, i)
            started = time.process_time()
            await _requests(ask, doc, args)
            us = (time.process_time() - started) / args.requests * 1e6
            found.setdefault(name, []).append(us)
            print(f"round {round_no} {name}: {us:.0f} us CPU per request, load average {os.getloadavg()[0]:.1f}",
                  flush=True)
    for name, values in found.items():
        print(f"median {name}: {sorted(values)[len(values) // 2]:.0f} us CPU per request")


def _measure(args: argparse.Namespace) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings = load_settings({"database_url": args.database, "access_log": False}, environ={})
    rt = create_runtime(settings)
    app = create_app(settings, rt)
    watcher = loop.run_until_complete(start_runtime(rt))
    ask = _asker(app, args.customers)
    names = args.documents.split(",")
    try:
        for name in names:
            answer = loop.run_until_complete(ask(DOCUMENTS[name], 0))
            if b'"errors"' in answer:
                raise SystemExit(f"{name}: {answer[:500]!r}")
        if not args.callgrind:
            loop.run_until_complete(_rounds(ask, names, args))
            return
        stop_periodic(rt, watcher)
        for name in names:
            for i in range(50):
                loop.run_until_complete(ask(DOCUMENTS[name], i))
        loop.run_until_complete(asyncio.sleep(0.01))
        gc.collect()
        gc.freeze()
        counted(lambda: [loop.run_until_complete(_requests(ask, DOCUMENTS[name], args)) for name in names])
    finally:
        loop.run_until_complete(stop_runtime(rt, watcher))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a database loaded by bench.customer360")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--documents", default=",".join(DOCUMENTS), help="comma-separated: nested, 360")
    parser.add_argument("--callgrind", action="store_true", help="REQUESTS requests of each document once, inside "
                                                                  "qsort, for callgrind (see above)")
    _measure(parser.parse_args())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
