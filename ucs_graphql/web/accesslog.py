"""One access-log line per request, in the reference's UCS log-line format (or JSON)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from ucs_graphql.kit import jsonio

log = logging.getLogger("ucs.access")

# The process id on every line, read once (a forked child reads its own): os.getpid() is a system call.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def log_request(
    *, fmt: str, received: datetime, client: str, port: int, method: str, url: str, status: int, ms: int,
    host: str, agent: str, request_id: str, tenant: int | None = None, segment: str | None = None,
) -> None:
    """Write the access-log line of one finished request (the last field names the tenant and the
    X-Genesys-Segment when they are given)."""
    if not log.isEnabledFor(logging.INFO):
        return
    if fmt == "json":
        doc = {
            "time": received.isoformat(), "level": "info", "request_id": request_id, "client": client,
            "port": port, "method": method, "url": url, "status": status, "ms": ms, "host": host,
            "agent": agent, "tenant": tenant, "segment": segment,
        }
        _emit(jsonio.dumps_str(doc), {"access": doc})
        return
    # Times are written field by field: strftime reads the time zone file again at every call.
    now = datetime.now(UTC)
    level = "Std" if status < 500 else "Int"
    _emit(f"{now.hour:02d}:{now.minute:02d}:{now.second:02d}.{now.microsecond // 1000:03d} {level} {_pid} "
          f"[{request_id}] {received.year:04d}-{received.month:02d}-{received.day:02d} "
          f"{received.hour:02d}:{received.minute:02d}:{received.second:02d} {client} {port} {method} {url} "
          f"- {status} - 0 {ms} {host} {agent or '-'} {_where(tenant, segment)}", None)


def _emit(line: str, extra: dict[str, object] | None) -> None:
    """Hand one finished line to the handlers, as log.info would, without looking up the caller's frame (no
    formatter prints where an access line was written)."""
    record = log.makeRecord(log.name, logging.INFO, "", 0, line, (), None, extra=extra)
    log.handle(record)


def _where(tenant: int | None, segment: str | None) -> str:
    parts = ([f"tenant={tenant}"] if tenant not in (None, 1) else []) + ([f"segment={segment}"] if segment else [])
    return ",".join(parts) or "-"
