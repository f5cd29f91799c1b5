"""Server CPU per request of the customer-360 documents for two or more checkouts of the repository, served side
by side on one database and driven in alternation, so that each comparison is measured within a minute.

    python -m bench.customer360_ab --database URL [--customers 2000] [--seconds 10] [--rounds 4] CHECKOUT...

Each CHECKOUT (a directory holding a checkout of ucs-graphql, such as a `git worktree` of an older commit) is
served by one `ucs-graphql serve` worker of its own code (PYTHONPATH) on the same database, which must already
hold the data bench/customer360.py loads (create an empty database and load it once with `python -m
bench.customer360 --database URL --seconds 1 --skip-anchors`, which keeps a database it is given). Every round
drives each document against each checkout with wrk (2 threads, 32 connections, bench/gql_customer360.lua), in
the order of the checkouts on odd rounds and reversed on even ones, and prints the server CPU per request (from
/proc) with req/s and the load average; the medians come last. On a machine shared with other work the CPU per
request is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.customer360 import DOCUMENTS, wait_up, wrk
from bench.net import free_port


def _serve(checkout: Path, url: str, port: int, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(port), "--workers", "1",
         "--config", str(config)], cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a database loaded by bench.customer360")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--documents", default=",".join(DOCUMENTS), help="comma-separated: nested, 360")
    parser.add_argument("checkouts", nargs="+", type=Path)
    args = parser.parse_args()
    names = args.documents.split(",")
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text("access_log = false\n")
        servers = {}
        try:
            for checkout in args.checkouts:
                port = free_port()
                servers[str(checkout)] = (_serve(checkout.resolve(), args.database, port, config),
                                          f"http://127.0.0.1:{port}")
            for proc, base in servers.values():
                wait_up(base)
                for name in names:  # warmed up: compiled plans, statement caches
                    wrk(base + "/graphql", DOCUMENTS[name], args.customers, 3, proc.pid)
            order = list(servers)
            for round_no in range(args.rounds):
                for name in names:
                    for checkout in order if round_no % 2 == 0 else order[::-1]:
                        proc, base = servers[checkout]
                        run = wrk(base + "/graphql", DOCUMENTS[name], args.customers, args.seconds, proc.pid)
                        results.setdefault((name, checkout), []).append(run.server_us)
                        print(f"round {round_no + 1} {name} {checkout}: server CPU {run.server_us:.0f} us/request, "
                              f"{run.rps:.0f} req/s p99 {run.p99}, load average {os.getloadavg()[0]:.1f} "
                              f"{run.notes}".rstrip(), flush=True)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
    for (name, checkout), values in results.items():
        ordered = sorted(values)
        print(f"median {name} {checkout}: {ordered[len(ordered) // 2]:.0f} us/request "
              f"({', '.join(f'{v:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
