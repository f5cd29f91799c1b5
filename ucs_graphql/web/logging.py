"""Logging setup: the request id on every line (set for each request by the front door), the UCS text format
or JSON."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

from sqlalchemy import exc as sa_exc

from ucs_graphql.kit import jsonio

# The id of the request being served in this task ("-" outside requests).
request_id_var: ContextVar[str] = ContextVar("ucs_request_id", default="-")

# An accepted X-Request-Id: printable, no spaces, short enough for a log line; others are replaced.
_VALID_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

ACCESS_LOGGER = "ucs.access"

# What a text line may not carry as it is: control characters (CR and LF above all: a forged line),
# and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` with control characters written as escapes (`\\x0d`, `\\x0a`...), so that what a client sent
    (a path, a header) cannot start a line of its own in the text log."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escaped, text)


# Line breaks to some readers (Python's splitlines among them) that JSON leaves unescaped.
_JSON_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def accepted_request_id(raw: str | None) -> str:
    """The caller's X-Request-Id when it is safe to log, else a new one (16 hex digits: the first half of a
    random UUID, version digit included, made without building the UUID)."""
    if raw and _VALID_ID.fullmatch(raw):
        return raw
    head = bytearray(os.urandom(8))
    head[6] = (head[6] & 0x0F) | 0x40
    return head.hex()


class DatabaseFault(Exception):
    """Stands in the log for an unexpected database error: what failed, never the statement's values."""


def loggable(exc: BaseException) -> BaseException:
    """The exception to log for an unexpected error.

    An error caused by a database statement is replaced by a DatabaseFault naming the driver's error, its
    SQLSTATE and the statement, with the traceback of the statement's error: the driver's own text can quote
    the values a client sent (asyncpg: "invalid input for query argument $1: ..."), and logs never carry
    them. Other exceptions are logged as they are.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.StatementError):
            return _database_fault(exc, current)
        current = current.__cause__ or current.__context__
    return exc


def _database_fault(outer: BaseException, err: sa_exc.StatementError) -> DatabaseFault:
    orig = err.orig if err.orig is not None else err
    kind = type(orig)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) \
        or getattr(orig, "sqlite_errorname", None)
    words = [f"{kind.__module__}.{kind.__qualname__}"]
    if isinstance(sqlstate, str):
        words.append(f"({sqlstate})")
    if outer is not err:
        words.append(f"under {type(outer).__module__}.{type(outer).__qualname__}")
    statement = " ".join(str(err.statement or "").split())[:1000]
    fault = DatabaseFault(f"{' '.join(words)} in statement: {statement}")
    fault.__suppress_context__ = True
    return fault.with_traceback(err.__traceback__)


def safe_exc_info(exc_info: Any) -> tuple[type[BaseException], BaseException, TracebackType | None] | Any:
    """A record's exc_info with a database error replaced as `loggable` does."""
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        safe = loggable(exc_info[1])
        if safe is not exc_info[1]:
            return type(safe), safe, safe.__traceback__
    return exc_info


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (the current request's, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


_LEVELS = {"DEBUG": "Dbg", "INFO": "Std", "WARNING": "Std", "ERROR": "Int", "CRITICAL": "Int"}


class UcsFormatter(logging.Formatter):
    """The UCS text line: `HH:MM:SS.mmm Lvl PID [request-id] logger message`; access lines as they are. A
    record is one line (its traceback aside): control characters in the message are escaped."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return one_line(record.getMessage())
        when = datetime.fromtimestamp(record.created, UTC)
        line = (f"{when:%H:%M:%S}.{when.microsecond // 1000:03d} {_LEVELS.get(record.levelname, 'Std')} "
                f"{record.process} [{getattr(record, 'request_id', '-')}] {record.name} "
                f"{one_line(record.getMessage())}")
        if record.exc_info:
            line += "\n" + self.formatException(safe_exc_info(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, request_id, message (access lines: their fields)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "request_id": getattr(record, "request_id", "-"),
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            doc.update(access)
        else:
            doc["message"] = record.getMessage()
        if record.exc_info:
            doc["exception"] = self.formatException(safe_exc_info(record.exc_info))
        line = jsonio.dumps_str(doc)
        return line if line.isascii() else line.translate(_JSON_BREAKS)


class BackgroundStreamHandler(logging.StreamHandler):
    """A StreamHandler that writes on a thread of its own. The caller's thread (the event loop's) filters and
    formats each record, so the request's context and the redaction apply as before, and queues the line; the
    thread writes every queued line in one write. A write that blocks (a disk the machine's other work keeps
    busy, a full pipe) holds that thread instead of every request: one access line's write took 207 ms of
    wall time (0.1 ms of CPU) during a wrk run on the shared development machine.

    The thread takes the interpreter lock as seldom as it can: every time it does (back from a wait, a sleep
    or a write) it waits for the event loop's thread to let go of it, up to the interpreter's switch interval
    (5 ms), and that thread then waits until this one has been scheduled and let go in turn, behind whatever
    else the machine runs. So while lines keep coming the thread sleeps GATHER_SECONDS and writes what came,
    round after round, without being woken for each line: two takes of the lock per round instead of four or
    more, and one round every GATHER_SECONDS instead of every 5 ms (the loop's thread waited for the lock
    about once every 15 requests at 2,000-3,000 requests a second with rounds of 5 ms).

    Nothing is dropped: past MAX_PENDING queued lines the caller waits for the thread (as it waited for the
    write before). `flush()` and `close()` (at exit, from `logging.shutdown`) return once every line queued
    before them is written, without waiting for the round to end. A forked child starts a thread of its own
    on its first line."""

    MAX_PENDING = 50_000
    GATHER_SECONDS = 0.05

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream)
        self._pending: deque[str] = deque()
        self._wake = threading.Event()  # set while the thread has lines to write, or must look again
        self._hurry = threading.Event()  # set by flush() and close(): write now, not at the end of the round
        self._written = threading.Condition()
        self._queued = 0  # lines queued so far
        self._done = 0  # lines written (or failed) so far
        self._thread: threading.Thread | None = None
        self._closed = False
        os.register_at_fork(after_in_child=self._forget_thread)

    def _forget_thread(self) -> None:
        self._thread = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        if self._closed:
            self._write([line])
            return
        self._pending.append(line)
        self._queued += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ucs-log-writer", daemon=True)
            self._thread.start()
        if not self._wake.is_set():
            self._wake.set()
        while len(self._pending) > self.MAX_PENDING and self._thread.is_alive():
            time.sleep(0.001)

    def _run(self) -> None:
        pending = self._pending
        while True:
            self._wake.wait()
            while True:
                # Lines that come meanwhile go in the same write; the caller does not wake the thread for them
                # (the event stays set while this loop runs).
                self._hurry.wait(self.GATHER_SECONDS)
                self._hurry.clear()
                batch = []
                while pending:
                    batch.append(pending.popleft())
                if batch:
                    self._write(batch)
                    with self._written:
                        self._done += len(batch)
                        self._written.notify_all()
                    continue
                self._wake.clear()
                if not pending:  # a line queued from here on sees the event clear and sets it
                    break
            if self._closed and not pending:
                return

    def _write(self, lines: list[str]) -> None:
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except Exception:  # a log stream that fails has nowhere to report it
            pass

    def flush(self) -> None:
        """Return once every line queued before this call is written (at most 5 s)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            lines = []
            while self._pending:
                lines.append(self._pending.popleft())
            if lines:
                self._write(lines)
            return
        target = self._queued
        self._wake.set()
        self._hurry.set()
        with self._written:
            self._written.wait_for(lambda: self._done >= target, timeout=5.0)

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        self._hurry.set()
        super().close()


def make_handler(fmt: str, stream: IO[str] | None = None, *, background: bool = False) -> logging.Handler:
    """A handler writing `fmt` ("ucs" or "json") lines, each with the request id (written on a thread of its
    own with `background`)."""
    handler = (BackgroundStreamHandler if background else logging.StreamHandler)(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else UcsFormatter())
    return handler


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Send every log record of the process (uvicorn's included) to one handler in the chosen format."""
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, BackgroundStreamHandler):
            old.close()
    root.handlers = [make_handler(fmt, background=True)]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # The UCS access line (ucs.access) replaces uvicorn's own.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers = []
    uvicorn_access.propagate = False
    logging.getLogger("alembic").setLevel(logging.WARNING)
