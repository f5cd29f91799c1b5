"""GET /healthz (the process answers) and GET /readyz (the database answers and its schema is current)."""

from __future__ import annotations

import asyncio
import functools
import time

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ucs_graphql.db.migrate import head_revision
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.runtime import Runtime
from ucs_graphql.web.responses import JsonResponse, error_response

# How long a readiness verdict is reused: probes every second cost one query at most.
READY_TTL_SECONDS = 1.0
RETRY_AFTER_UNREADY = 5


@functools.cache
def _head() -> str | None:
    return head_revision()


class Readiness:
    """Whether this process can serve: the database answers and is migrated to this code's head."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = asyncio.Lock()
        self._checked = float("-inf")
        self._verdict: tuple[bool, str] = (False, "not checked yet")

    async def verdict(self) -> tuple[bool, str]:
        """(ready, reason), probed at most once per READY_TTL_SECONDS."""
        async with self._lock:
            if time.monotonic() - self._checked >= READY_TTL_SECONDS:
                self._verdict = await self._probe()
                self._checked = time.monotonic()
            return self._verdict

    async def _probe(self) -> tuple[bool, str]:
        try:
            async with self.rt.db.read() as conn:
                revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except Unavailable:
            return False, "the database cannot be reached"
        except sa_exc.DBAPIError:
            return False, "the database has not been migrated (run `ucs-graphql migrate`)"
        head = _head()
        if revision != head:
            return False, f"the database schema is at revision {revision}, this server needs {head}"
        return True, "ready"


def health_routes(rt: Runtime) -> list[BaseRoute]:
    """GET /healthz and GET /readyz (at the root and under the base path)."""
    readiness = Readiness(rt)

    async def healthz(request: Request) -> Response:
        request.scope["ucs_op"] = "ops.healthz"
        return JsonResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        request.scope["ucs_op"] = "ops.readyz"
        ready, reason = await readiness.verdict()
        if ready:
            return JsonResponse({"status": "ready", "revision": _head()})
        return error_response("unavailable", f"not ready: {reason}", request.method, str(request.url),
                              headers={"Retry-After": str(RETRY_AFTER_UNREADY)})

    prefixes = ["", rt.settings.base_path] if rt.settings.base_path else [""]
    out: list[BaseRoute] = []
    for prefix in prefixes:
        out.append(Route(prefix + "/healthz", healthz, methods=["GET"]))
        out.append(Route(prefix + "/readyz", readyz, methods=["GET"]))
    return out
