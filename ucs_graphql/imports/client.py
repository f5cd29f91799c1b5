"""The `ucs-graphql import` command: run the import use case on a database directly, or upload the file
to a running server; a progress bar on stderr and a summary of refused rows at the end."""

from __future__ import annotations

import base64
import http.client
import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from ucs_graphql.config import Settings
from ucs_graphql.imports.service import Progress

CHUNK = 256 * 1024
SHOWN = 20


@dataclass
class Bar:
    """A one-line progress bar: share of the file read, rows, rows/s and ETA from the file size."""

    total_bytes: int | None
    out: IO[str] = field(default_factory=lambda: sys.stderr)
    started: float = field(default_factory=time.monotonic)
    shown: float = 0.0

    def update(self, bytes_read: int, rows: int, refused: int = 0, *, label: str = "rows", force: bool = False) -> None:
        """Redraw (at most five times a second unless forced)."""
        now = time.monotonic()
        if not force and now - self.shown < 0.2:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = rows / elapsed
        share = bytes_read / self.total_bytes if self.total_bytes else 0.0
        eta = "--:--"
        if 0 < share < 1:
            left = int(elapsed * (1 - share) / share)
            eta = f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        width = 24
        filled = int(width * min(share, 1.0))
        bar = "#" * filled + "." * (width - filled)
        refused_text = f"  refused {refused:,}" if refused else ""
        self.out.write(f"\r[{bar}] {share:6.1%}  {rows:,} {label}  {rate:,.0f} {label}/s  ETA {eta}{refused_text}  ")
        self.out.flush()

    def done(self) -> None:
        """End the bar's line."""
        self.out.write("\n")
        self.out.flush()


def description(args: Any) -> dict[str, Any]:
    """The import description from the command's options."""
    body: dict[str, Any] = {"format": "csv", "delimiter": args.delimiter, "batch-size": args.batch_size,
                            "encoding": args.encoding, "start-from-index": args.start_from_index,
                            "create-log": args.create_log}
    if args.id_key:
        body["id-key"] = args.id_key
    if args.max_errors is not None:
        body["max-errors"] = args.max_errors
    return body


def summary(report: dict[str, Any], out: IO[str]) -> int:
    """Print what the import did and the refused rows; the exit status (0 all imported, 1 rows refused or
    the import stopped early)."""
    errors, ambiguous = report.get("errors", []), report.get("ambiguous", [])
    state = "complete" if report.get("complete") else "stopped"
    out.write(f"imported {report.get('imported', 0):,}, skipped {report.get('skipped', 0):,} (already known), "
              f"errors {len(errors):,}, ambiguous {len(ambiguous):,}; {state}, next-index {report.get('next-index')}\n")
    for title, entries in (("errors", errors), ("ambiguous", ambiguous)):
        if entries:
            out.write(f"{title}:\n")
            for entry in entries[:SHOWN]:
                out.write(f"  {entry['index']}: {entry['reason']}\n")
            if len(entries) > SHOWN:
                out.write(f"  ... and {len(entries) - SHOWN:,} more (--json prints them all)\n")
    if report.get("log"):
        out.write(f"log: {report['log']}\n")
    if not report.get("complete"):
        out.write(f"resume with --start-from-index {report.get('next-index')}\n")
    return 0 if report.get("complete") and not errors and not ambiguous else 1


async def run_direct(settings: Settings, path: Path, raw: IO[bytes], size: int, body: dict[str, Any],
                     tenant: int) -> dict[str, Any]:
    """Import `raw` (the open file at `path`) through the use case on the configured database, which must
    be in maintenance mode."""
    from ucs_graphql.context import Ctx
    from ucs_graphql.imports.service import Upload, import_profiles
    from ucs_graphql.web.app import create_runtime, start_runtime, stop_runtime

    rt = create_runtime(settings)
    watcher = await start_runtime(rt)
    bar = Bar(size)
    first = body["start-from-index"]

    def progress(p: Progress) -> None:
        bar.update(p.bytes_read, p.next_index - first, p.refused)

    rt.server.enter()  # a mode switch waits for this import as for a request
    try:
        upload = Upload(raw, path.name, log_path=Path(f"{path}.log"))
        report = await import_profiles(Ctx(rt, tenant=tenant), body, upload, progress=progress)
        bar.update(size, report.next_index - first, report.refused, force=True)
        bar.done()
        return report.to_wire()
    finally:
        rt.server.leave()
        await stop_runtime(rt, watcher)


def _multipart(path: Path, body: dict[str, Any], boundary: str) -> tuple[bytes, bytes]:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n"
            f"Content-Type: application/json; charset=UTF-8\r\n\r\n{json.dumps(body)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"profiles\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def run_remote(url: str, path: Path, body: dict[str, Any], tenant: int,
               authorization: str | None) -> tuple[int, dict[str, Any]]:
    """Upload the file to a running server (part `profiles`, streamed from disk); (status, response body)."""
    parts = urlsplit(url)
    conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_type(parts.hostname or "127.0.0.1", parts.port, timeout=None)
    boundary = uuid.uuid4().hex
    head, tail = _multipart(path, body, boundary)
    size = path.stat().st_size
    bar = Bar(size)

    def stream() -> Iterator[bytes]:
        yield head
        sent = lines = 0
        with path.open("rb") as raw:
            while chunk := raw.read(CHUNK):
                sent += len(chunk)
                lines += chunk.count(b"\n")
                bar.update(sent, lines, label="lines sent")
                yield chunk
        bar.update(sent, lines, label="lines sent", force=True)
        bar.done()
        sys.stderr.write("uploaded; the server is importing...\n")
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + size + len(tail)), "X-Genesys-TenantId": str(tenant)}
    if authorization:
        headers["Authorization"] = authorization
    conn.request("POST", parts.path.rstrip("/") + "/profiles/import", body=stream(), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, {"description": data.decode("utf-8", "replace")}


def basic(user: str, password: str) -> str:
    """An HTTP Basic Authorization value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
