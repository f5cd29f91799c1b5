"""What holds the event loop: every callback longer than 2 ms in a served process under load, by cause.

For each database (PostgreSQL, SQLite), loads ROWS profiles with an identification key on PhoneNumber (as
bench/anchors_compare.py does), serves them with `ucs-graphql serve` (access log on, written to a file) with
bench/stallprobe/sitecustomize.py loaded, and drives `GET /profiles/{id}` and identification with wrk (2
threads, 32 connections, SECONDS after 2 s of warm-up). The probe serves on asyncio's event loop and times
every callback; each one longer than `--ms` is put down to the largest of its parts:

    cpu      the loop's thread computing (its CPU time, collections aside)
    gc       garbage collections inside the callback
    runq     the thread ready to run but waiting for a core (other processes had them)
    blocked  off the CPU after a voluntary switch: waiting for the interpreter lock, a lock, the disk
    steal    off the CPU without a switch: the virtual machine's core was not running (the hypervisor)

and counted per 10,000 requests, with the load average and the server's CPU per request beside. `cpu`, `gc`
and `blocked` are the process's own; `runq` and `steal` are the machine's. `--before DIR` runs the code of
another checkout too (first, in each pair), `--ceiling` the anchors' ceiling app (uvicorn, asyncpg) under the
same probe before each PostgreSQL by-id pair.

    python -m bench.loop_stalls --rows 20000 --seconds 10 --rounds 2 [--before DIR] [--ceiling]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.anchors_compare import ADMIN, ANCHORS, CUSTOMER_TABLE, HERE, load, psql, wait_up
from bench.cpu import tree_cpu_seconds
from bench.net import free_port

PROBE = HERE / "stallprobe"
DATABASE = "ucs_bench_stalls"
CAUSES = ("cpu", "gc", "blocked", "runq", "steal")


def cause(stall: dict[str, Any]) -> str:
    """The largest part of one long callback."""
    off = max(0, stall["wall_us"] - stall["oncpu_us"] - stall["runq_us"])
    parts = {"cpu": stall["cpu_us"] - stall["gc_us"], "gc": stall["gc_us"], "runq": stall["runq_us"],
             "blocked" if stall["voluntary"] else "steal": off}
    return max(parts, key=lambda k: parts[k])


def switches(pid: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches of a process's main thread (the event loop's)."""
    status = Path(f"/proc/{pid}/task/{pid}/status").read_text()
    return (int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1)),  # type: ignore[union-attr]
            int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1)))  # type: ignore[union-attr]


def drive(name: str, argv: list[str], env: dict[str, str], script: Path, base: str, args: argparse.Namespace,
          tmp: Path, cwd: Path | None = None) -> str:
    """Start `argv` with the probe, warm it up, count its long callbacks during one wrk run; one line."""
    out = tmp / "stalls.json"
    out.unlink(missing_ok=True)
    env = {**env, "PYTHONPATH": f"{PROBE}:{env.get('PYTHONPATH', HERE.parent)}", "UCS_STALLS_OUT": str(out),
           "UCS_STALLS_MS": str(args.ms)}
    log = tmp / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    wrk_env = {**os.environ, "ROWS": str(args.rows)}
    try:
        wait_up(base, proc, log)  # type: ignore[arg-type]
        subprocess.run(["wrk", "-t2", "-c32", "-d2s", "-s", str(script), base], env=wrk_env, capture_output=True)
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        load_avg, cpu, switched = os.getloadavg()[0], tree_cpu_seconds(proc.pid), switches(proc.pid)
        text = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.seconds}s", "--latency", "-s", str(script), base],
                              env=wrk_env, capture_output=True, text=True).stdout
        cpu = tree_cpu_seconds(proc.pid) - cpu
        voluntary, involuntary = (after - before for after, before in zip(switches(proc.pid), switched, strict=True))
        proc.send_signal(signal.SIGUSR2)
        for _ in range(50):
            if out.exists() and out.stat().st_size:
                break
            time.sleep(0.1)
        time.sleep(0.2)
        found = json.loads(out.read_text())
    finally:
        proc.terminate()
        proc.wait(30)
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50, p99 = (re.search(rf"^\s*{q}%\s+(\S+)", text, re.M).group(1) for q in (50, 99))  # type: ignore[union-attr]
    per = 10_000 / max(requests, 1)
    counts = collections.Counter(cause(s) for s in found["long"])
    causes = ", ".join(f"{c} {counts[c] * per:.1f}" for c in CAUSES)
    gcs = collections.Counter(g for g, _, _ in found["gc"])
    longest = [max((cpu_us for g, _, cpu_us in found["gc"] if g == gen), default=0) for gen in (0, 1, 2)]
    return (f"{name:44s} {rps:6.0f} req/s p50 {p50} p99 {p99}, load {load_avg:.1f}, server CPU "
            f"{cpu / max(requests, 1) * 1e6:.0f} us/request | callbacks > {args.ms:g} ms per 10k requests: "
            f"{len(found['long']) * per:.1f} ({causes}) | loop thread switches per 10k: voluntary "
            f"{voluntary * per:.0f}, involuntary {involuntary * per:.0f} | collections 0/1/2: "
            f"{gcs[0]}/{gcs[1]}/{gcs[2]}, longest CPU {longest[0]}/{longest[1]}/{longest[2]} us")


def ours(name: str, code: Path, url: str, script: Path, args: argparse.Namespace, tmp: Path) -> str:
    cfg = tmp / "stalls.toml"
    cfg.write_text("access_log = true\n")
    port = free_port()
    argv = [sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", url, "--port", str(port),
            "--workers", "1", "--config", str(cfg)]
    return drive(name, argv, {**os.environ, "PYTHONPATH": str(code)}, script, f"http://127.0.0.1:{port}", args,
                 tmp, cwd=code)


def ceiling(args: argparse.Namespace, tmp: Path) -> str:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(ANCHORS), "ceiling_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, "CEILING_DSN": ADMIN.rsplit("/", 1)[0] + "/" + DATABASE, "PYTHONPATH": ""}
    return drive("ceiling GET /profiles/{id}", argv, env, ANCHORS / "rest_by_id.lua", f"http://127.0.0.1:{port}",
                 args, tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--databases", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--ms", type=float, default=2.0, help="a callback longer than this is a stall")
    parser.add_argument("--before", type=Path, help="another checkout to serve the same databases with, first")
    parser.add_argument("--ceiling", action="store_true", help="probe the anchors' ceiling app too (PostgreSQL)")
    args = parser.parse_args()
    if not (ANCHORS / "rest_by_id.lua").is_file():
        parser.error(f"no anchors in {ANCHORS}: set UCS_ANCHORS_DIR")
    engines = [e.strip() for e in args.databases.split(",") if e.strip()]
    scripts = {"GET /profiles/{id}": ANCHORS / "rest_by_id.lua", "identify ?PhoneNumber=": HERE / "rest_identify.lua"}
    codes = ([("before", args.before.resolve())] if args.before else []) + [("this", HERE.parent)]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        urls = {"postgresql": ADMIN.rsplit("/", 1)[0] + "/" + DATABASE, "sqlite": f"sqlite:///{tmp}/stalls.db"}
        if "postgresql" in engines:
            psql(f"drop database if exists {DATABASE} with (force)")
            psql(f"create database {DATABASE}")
        try:
            for engine in engines:
                asyncio.run(load(urls[engine], args.rows))
            if args.ceiling:
                subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-qAt"],
                               input=CUSTOMER_TABLE % args.rows, text=True, check=True, capture_output=True)
            for round_no in range(1, args.rounds + 1):
                print(f"-- round {round_no}: {args.rows} rows, wrk 2 threads 32 connections {args.seconds} s, "
                      "access log on, asyncio's loop with every callback timed", flush=True)
                for engine in engines:
                    for what, script in scripts.items():
                        if args.ceiling and engine == "postgresql" and what.startswith("GET"):
                            print(ceiling(args, tmp), flush=True)
                        for label, code in codes:
                            print(ours(f"{engine} {what} ({label})", code, urls[engine], script, args, tmp),
                                  flush=True)
        finally:
            if "postgresql" in engines:
                psql(f"drop database if exists {DATABASE} with (force)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
