"""What an import the server refuses costs it: the peak memory (VmHWM) of a `ucs-graphql serve` process
that is sent a file of one endless line, uploaded or named by path, and the bytes of a file a client sends
before a refusal of production mode.

    .venv/bin/python -m bench.import_refusals [--megabytes 300] [--code DIR]

`--code DIR` runs the server from another checkout (PYTHONPATH), to compare with earlier code.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.net import free_port

CHUNK = 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def server(folder: Path, code: str | None) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A server on a fresh SQLite database, in maintenance mode, reading imports from `folder`."""
    port = free_port()
    config = folder / "ucs.toml"
    config.write_text(f'import_dir = "{folder}"\naccess_log = false\n')
    env = {**os.environ, **({"PYTHONPATH": code} if code else {})}
    database = f"sqlite:///{folder}/bench-{port}.db"
    proc = subprocess.Popen([sys.executable, "-m", "ucs_graphql.cli", "serve", "--database", database, "--config",
                             str(config), "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            time.sleep(0.1)
        yield port, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def set_mode(port: int, mode: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/server/mode", body=json.dumps({"mode": mode}),
                 headers={"Content-Type": "application/json"})
    conn.getresponse().read()


def post(port: int, description: dict[str, object], megabytes: int | None) -> tuple[int, int, str]:
    """POST /profiles/import, the file (one line of `megabytes` MB) uploaded when given; (status, file bytes
    sent before the answer, the answer's start)."""
    boundary = "benchboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
            f"{json.dumps(description)}\r\n").encode()
    tail = f"--{boundary}--\r\n".encode()
    file_head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"profiles\"; filename=\"line.csv\"\r\n"
                 "Content-Type: text/csv\r\n\r\n").encode()
    size = megabytes * CHUNK if megabytes else 0
    length = len(head) + (len(file_head) + size + 2 if megabytes else 0) + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/profiles/import")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    sent = 0
    with contextlib.suppress(OSError):
        conn.send(head)
        if megabytes:
            conn.send(file_head)
            block = b"a" * CHUNK
            for _ in range(megabytes):
                conn.send(block)
                sent += CHUNK
            conn.send(b"\r\n")
        conn.send(tail)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, sent, text[:160]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--code", help="run the server from this checkout (PYTHONPATH)")
    args = parser.parse_args()
    mb = args.megabytes
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "1").mkdir()
        line = folder / "1" / "line.csv"
        with line.open("wb") as out:
            for _ in range(mb):
                out.write(b"a" * CHUNK)
        with contextlib.suppress(OSError):
            os.link(line, folder / "line.csv")  # where code before per-tenant directories looks
        for case in ("upload", "path"):
            with server(folder, args.code) as (port, proc):
                set_mode(port, "maintenance")
                before = peak_rss_mb(proc.pid)
                started = time.perf_counter()
                if case == "upload":
                    status, _, text = post(port, {"format": "csv"}, mb)
                else:
                    status, _, text = post(port, {"format": "csv", "profiles": "line.csv"}, None)
                print(f"one line of {mb} MB, {case:6}: {status}, server peak RSS {before:.0f} -> "
                      f"{peak_rss_mb(proc.pid):.0f} MB, {time.perf_counter() - started:.1f} s  {text[:100]}")
        with server(folder, args.code) as (port, proc):
            before = peak_rss_mb(proc.pid)
            status, sent, text = post(port, {"format": "csv"}, mb)
            print(f"production mode, {mb} MB upload: {status}, server peak RSS {before:.0f} -> "
                  f"{peak_rss_mb(proc.pid):.0f} MB (the client sent {sent / CHUNK:.0f} MB; with Expect: "
                  f"100-continue it sends none)  {text[:60]}")


if __name__ == "__main__":
    main()
