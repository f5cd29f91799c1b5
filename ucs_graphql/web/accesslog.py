"""One access-log line per request, in the reference's UCS log-line format (or JSON)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from ucs_graphql.kit import jsonio

log = logging.getLogger("ucs.access")


def log_request(
    *, fmt: str, received: datetime, client: str, port: int, method: str, url: str, status: int, ms: int,
    host: str, agent: str, request_id: str, tenant: int | None = None, segment: str | None = None,
) -> None:
    """Write the access-log line of one finished request (the last field names the tenant and the
    X-Genesys-Segment when they are given)."""
    if fmt == "json":
        doc = {
            "time": received.isoformat(), "level": "info", "request_id": request_id, "client": client,
            "port": port, "method": method, "url": url, "status": status, "ms": ms, "host": host,
            "agent": agent, "tenant": tenant, "segment": segment,
        }
        log.info(jsonio.dumps_str(doc), extra={"access": doc})
        return
    now = datetime.now(UTC)
    level = "Std" if status < 500 else "Int"
    log.info(
        "%s %s %d [%s] %s %s %s %d %s %s - %d - 0 %d %s %s %s",
        now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}", level, os.getpid(), request_id,
        received.strftime("%Y-%m-%d"), received.strftime("%H:%M:%S"), client, port, method, url, status, ms,
        host, agent or "-", _where(tenant, segment),
    )


def _where(tenant: int | None, segment: str | None) -> str:
    parts = ([f"tenant={tenant}"] if tenant not in (None, 1) else []) + ([f"segment={segment}"] if segment else [])
    return ",".join(parts) or "-"
