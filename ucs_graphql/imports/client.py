"""The `ucs-graphql import` command: run the import use case on a database directly, or upload the file
to a running server; a progress bar on stderr and a summary of refused rows at the end.

Exit status: 0 every row imported or skipped; 1 rows refused or the import stopped early; 2 the import could
not run (the file, the database, or the server's answer says why); 3 the server cannot be reached; 4 the URL
is not a server's (not http(s)://host[:port][/base], or no import there: 404); 5 the server refused the
caller (401: credentials; 403: a task, or the server is not in maintenance mode).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import select
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from ucs_graphql.config import Settings
from ucs_graphql.imports.service import Progress

CHUNK = 256 * 1024
SHOWN = 20
OK, REFUSED_ROWS, FAILED, UNREACHABLE, BAD_URL, DENIED = range(6)
CONNECT_SECONDS = 10.0
# How long to wait for `100 Continue` before sending the file anyway (a proxy may not pass it on).
CONTINUE_SECONDS = 10.0
_INTERIM = re.compile(rb"HTTP/1\.[01] 1\d\d ")


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


class Unreachable(Exception):
    """The server cannot be reached, or the connection broke before it answered."""


class BadUrl(Exception):
    """The --server value is not the URL of a server."""


@dataclass
class Remote:
    """Where to send an import: connection class, host, port and the path of POST /profiles/import."""

    https: bool
    host: str
    port: int | None
    path: str

    @classmethod
    def parse(cls, url: str) -> Remote:
        """Check a server URL (BadUrl when it is not http(s)://host[:port][/base])."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadUrl(f"'{url}' is not a server URL: give http://host:port (or https://...), with the base path "
                         "if the server has one")
        try:
            port = parts.port
        except ValueError as err:
            raise BadUrl(f"'{url}' has no valid port: {err}") from err
        if parts.query or parts.fragment:
            raise BadUrl(f"'{url}' has a query or a fragment: give http://host:port[/base] only")
        return cls(parts.scheme == "https", parts.hostname, port, parts.path.rstrip("/") + "/profiles/import")

    def connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=CONNECT_SECONDS)


def _interim(resp: http.client.HTTPResponse, sock: socket.socket) -> bool:
    """After the request's headers: True when the server asks for the body (`100 Continue`, or no answer
    within CONTINUE_SECONDS), False when its final answer came first (a refusal: the file is not sent)."""
    readable, _, _ = select.select([sock], [], [], CONTINUE_SECONDS)
    if not readable:
        return True
    head = resp.fp.peek(16)[:16]
    if not head:
        raise Unreachable("the server closed the connection without an answer")
    if not _INTERIM.match(head):
        return False
    while resp.fp.readline(65537) not in (b"\r\n", b"\n", b""):
        pass  # the interim answer's headers
    return True


def _final(resp: http.client.HTTPResponse, bar: Bar, first: int) -> tuple[int, dict[str, Any]]:
    """Read the final answer: a JSON body, or the JSON lines of a streamed import (progress shown on `bar`)."""
    resp.begin()
    if resp.getheader("content-type", "").startswith("application/x-ndjson"):
        last: dict[str, Any] = {}
        shown = False
        while line := resp.readline():
            last = json.loads(line)
            if "progress" in last:
                p = last["progress"]
                if bar.total_bytes is None:
                    bar.total_bytes = p.get("total-bytes")
                bar.update(p["bytes-read"], p["next-index"] - first, p["refused"], label="rows imported")
                shown = True
        if shown:
            bar.done()
        if "report" in last:
            return resp.status, last["report"]
        if "error" in last:
            return int(last.get("status", 500)), last["error"]
        return 500, {"description": "the server stopped answering during the import; see its log, and resume "
                                    "from the import's log (create-log) with --start-from-index"}
    data = resp.read()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, {"description": data.decode("utf-8", "replace")[:500] or resp.reason}


def run_remote(url: str, path: Path, body: dict[str, Any], tenant: int,
               authorization: str | None, out: IO[str] | None = None) -> tuple[int, dict[str, Any]]:
    """Upload the file to a running server (part `profiles`, streamed from disk); (status, response body).

    The request asks `Expect: 100-continue`, so a refusal (credentials, tasks, mode, description) comes
    before the file is sent; while the server imports, its streamed progress is shown."""
    out = out or sys.stderr
    remote = Remote.parse(url)
    boundary = uuid.uuid4().hex
    head, tail = _multipart(path, body, boundary)
    size = path.stat().st_size
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Expect": "100-continue",
               "Content-Length": str(len(head) + size + len(tail)), "X-Genesys-TenantId": str(tenant),
               "Accept": "application/x-ndjson, application/json"}
    if authorization:
        headers["Authorization"] = authorization
    conn = remote.connect()
    try:
        try:
            conn.putrequest("POST", remote.path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
        except OSError as err:
            raise Unreachable(f"cannot reach {url}: {err.strerror or err}") from err
        sock = conn.sock
        assert sock is not None
        resp = http.client.HTTPResponse(sock, method="POST")
        try:
            if _interim(resp, sock):
                sock.settimeout(None)  # an upload and an import take as long as they take
                _send(conn, head, path, tail, Bar(size, out=out))
                out.write("uploaded; the server is importing...\n")
            return _final(resp, Bar(size, out=out), body["start-from-index"])
        except (OSError, http.client.HTTPException) as err:
            raise Unreachable(f"the connection to {url} broke: {err}") from err
    finally:
        conn.close()


def _send(conn: http.client.HTTPConnection, head: bytes, path: Path, tail: bytes, bar: Bar) -> None:
    """The request body: the description part, the file from disk (the bar shows it going), the closing line."""
    conn.send(head)
    sent = lines = 0
    with path.open("rb") as raw:
        while chunk := raw.read(CHUNK):
            try:
                conn.send(chunk)
            except OSError:
                bar.done()
                return  # the server stopped reading: its answer says why
            sent += len(chunk)
            lines += chunk.count(b"\n")
            bar.update(sent, lines, label="lines sent")
    bar.update(sent, lines, label="lines sent", force=True)
    bar.done()
    try:
        conn.send(tail)
    except OSError:
        return


def basic(user: str, password: str) -> str:
    """An HTTP Basic Authorization value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
