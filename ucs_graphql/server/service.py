"""Use cases of the Server operations (CV.WS.STAT, CV.WS.MODE) and the mode watcher of each worker.

The mode lives in server_state. A switch first writes `switching:<target>` with a new generation; every
live worker applies it (new requests answer 503), reports when its in-flight requests are done, and the
switch then writes the target mode. Workers follow the table by polling, so this works on both engines.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql import __version__
from ucs_graphql.context import Ctx
from ucs_graphql.db.tables.server import server_state, server_worker
from ucs_graphql.db.upsert import upsert
from ucs_graphql.kit.errors import BadParameter, MissingParameter, ModeForbidden, Unavailable
from ucs_graphql.kit.timefmt import format_dt, now_utc
from ucs_graphql.metadata import store
from ucs_graphql.runtime import Runtime
from ucs_graphql.server.memory import memory_kb
from ucs_graphql.server.state import MODES, PRODUCTION

log = logging.getLogger("ucs.server")

MODE = "mode"
GENERATION = "mode_generation"
SWITCHING = "switching:"
LIVE_MS = 3000


def status(ctx: Ctx) -> dict[str, Any]:
    """Server status with every documented field (counters are this process's, reset at restart)."""
    s = ctx.rt.server
    mem = memory_kb()
    return {
        "version": __version__,
        "system_time": format_dt(now_utc()),
        "mode": s.mode,
        "started": format_dt(s.started),
        "last_request": format_dt(s.last_request) if s.last_request else None,
        "request_today": s.request_today,
        "client_errors_today": s.client_errors_today,
        "server_errors_today": s.server_errors_today,
        **mem,
    }


def parse_mode(body: Any) -> str:
    """The target mode of a POST /server/mode body (case-insensitive)."""
    if not isinstance(body, dict):
        raise BadParameter("server mode", "the body must be a JSON object such as {\"mode\":\"maintenance\"}")
    raw = body.get("mode")
    if raw is None:
        raise MissingParameter("mode")
    if not isinstance(raw, str) or raw.strip().lower() not in MODES:
        raise BadParameter("server mode", f"server mode has not a correct value '{raw}'")
    return raw.strip().lower()


async def _set(conn: AsyncConnection, name: str, value: str) -> None:
    await upsert(conn, server_state, {"name": name, "value": value}, ["name"], ["value"])


async def set_mode(ctx: Ctx, body: Any) -> str:
    """Switch the server mode; in-flight requests finish first and new ones answer 503 meanwhile."""
    target = parse_mode(body)
    # The switch runs to its end (or its own timeout) even when its request is stopped by a time limit or a
    # client that went away: stopped half way, it would leave the server switching.
    return await asyncio.shield(_switch(ctx.rt, target))


async def _switch(rt: Runtime, target: str) -> str:
    s = rt.server
    if s.switching:
        raise Unavailable("the server mode is already switching; retry later")
    previous = s.mode

    async def begin(conn: AsyncConnection) -> int:
        gen = await store.bump(conn, GENERATION)
        await _set(conn, MODE, SWITCHING + target)
        return gen

    gen = await rt.db.write(begin)
    s.switching = True
    s.generation = gen
    deadline = time.monotonic() + rt.settings.mode_switch_timeout_seconds
    try:
        await _wait_for_workers(rt, gen, deadline)
    except TimeoutError:
        async def undo(conn: AsyncConnection) -> int:
            g = await store.bump(conn, GENERATION)
            await _set(conn, MODE, previous)
            return g

        s.generation = await rt.db.write(undo)
        s.switching = False
        raise ModeForbidden(
            f"switching to {target} mode timed out: requests were still running; the server stays in {previous} mode"
        ) from None

    async def finish(conn: AsyncConnection) -> int:
        g = await store.bump(conn, GENERATION)
        await _set(conn, MODE, target)
        return g

    s.generation = await rt.db.write(finish)
    s.mode = target
    s.switching = False
    try:
        # Every live worker has applied the new mode before the switch answers.
        await _wait_for_workers(rt, s.generation, deadline, require_idle=False)
    except TimeoutError:
        log.warning("a worker did not acknowledge the switch to %s in time", target)
    log.info("server mode changed to %s", target)
    return target


async def _wait_for_workers(rt: Runtime, gen: int, deadline: float, require_idle: bool = True) -> None:
    """Wait until every live worker acknowledged `gen` (and, with require_idle, has no request in flight,
    this process's own switch request aside)."""
    s = rt.server
    while True:
        local_ok = s.inflight <= 1 or not require_idle
        await _heartbeat(rt, gen, max(s.inflight - 1, 0))
        others_ok = await _others_acknowledged(rt, gen, require_idle)
        if local_ok and others_ok:
            return
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(min(rt.settings.mode_poll_seconds, 0.05))


async def _others_acknowledged(rt: Runtime, gen: int, require_idle: bool) -> bool:
    now_ms = int(time.time() * 1000)
    async with rt.db.read() as conn:
        rows = (await conn.execute(select(
            server_worker.c.worker_id, server_worker.c.heartbeat_ms, server_worker.c.seen_generation,
            server_worker.c.inflight))).all()
    for worker_id, beat, seen, inflight in rows:
        if worker_id == rt.server.worker_id or now_ms - beat > LIVE_MS:
            continue
        if seen < gen or (require_idle and inflight > 0):
            return False
    return True


async def _heartbeat(rt: Runtime, seen: int, inflight: int) -> None:
    s = rt.server
    now_ms = int(time.time() * 1000)

    async def work(conn: AsyncConnection) -> None:
        await upsert(conn, server_worker, {
            "worker_id": s.worker_id, "pid": os.getpid(), "heartbeat_ms": now_ms, "seen_generation": seen,
            "inflight": inflight}, ["worker_id"], ["heartbeat_ms", "seen_generation", "inflight"])

    await rt.db.write(work)


async def load_state(rt: Runtime) -> None:
    """Apply the stored mode and generations to this process (a fresh database starts in production)."""
    async with rt.db.read() as conn:
        values = await store.read_state(conn)
    if MODE not in values:
        async def init(conn: AsyncConnection) -> None:
            await _set(conn, MODE, PRODUCTION)

        await rt.db.write(init)
        values[MODE] = PRODUCTION
    _apply(rt, values)


def _apply(rt: Runtime, values: dict[str, str]) -> None:
    s = rt.server
    mode = values.get(MODE, PRODUCTION)
    s.generation = int(values.get(GENERATION, "0"))
    if mode.startswith(SWITCHING):
        s.switching = True
    else:
        s.switching = False
        s.mode = mode
    schema_gen = int(values.get("schema_generation", "0"))
    if schema_gen != rt.schemas.generation:
        rt.schemas.generation = schema_gen
        rt.schemas.invalidate()


async def watch(rt: Runtime) -> None:
    """Follow the mode and schema generation written by other workers, and heartbeat; runs until cancelled."""
    last_beat = 0.0
    acked = -1
    while True:
        try:
            async with rt.db.read() as conn:
                values = await store.read_state(conn)
            if int(values.get(GENERATION, "0")) >= rt.server.generation:
                _apply(rt, values)
            now = time.monotonic()
            if acked != rt.server.generation or rt.server.switching or now - last_beat > 1.0:
                await _heartbeat(rt, rt.server.generation, rt.server.inflight)
                acked, last_beat = rt.server.generation, now
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away; keep watching
            log.debug("mode watcher could not read the server state", exc_info=True)
        await asyncio.sleep(rt.settings.mode_poll_seconds)


async def unregister(rt: Runtime) -> None:
    """Remove this worker from the acknowledgement table at shutdown."""
    async def work(conn: AsyncConnection) -> None:
        await conn.execute(delete(server_worker).where(server_worker.c.worker_id == rt.server.worker_id))

    try:
        await rt.db.write(work)
    except Exception:
        log.debug("could not unregister worker", exc_info=True)
