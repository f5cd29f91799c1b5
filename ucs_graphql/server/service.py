"""Use cases of the Server operations (CV.WS.STAT, CV.WS.MODE) and the mode watcher of each worker.

The mode lives in server_state. A switch first writes `switching:<target>` with a new generation; every
live worker applies it (new requests answer 503), reports when its in-flight requests are done, and the
switch then writes the target mode. Workers register in server_worker when they start and leave it when
they stop; they read server_state when the event bus signals a change (ucs_graphql.events), and write to
server_worker only to acknowledge a generation. A worker that does not acknowledge a switch within
live_seconds was killed without leaving the table: the switch removes it and goes on. On SQLite a worker
killed without leaving is known at once by its released lock, and its row removed by the event bus
(ucs_graphql.events.worker_locks), before any switch. A switch that fails before it writes its target writes
the mode it left back; one left under way (its worker died, or lost the database) is recovered by the first
worker to see it after the longest a switch may take.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
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
# Written with a switch's first step: the mode it leaves, and when it began (wall clock, ms).
SWITCH_FROM = "switch_from"
SWITCH_STARTED = "switch_started_ms"
# A switch presumes a worker gone when it has not acknowledged within this, plus twice the bus's reaction time.
LIVE_SECONDS = 3.0
# How often a switch looks at this process's own requests in flight (no database work).
LOCAL_CHECK_SECONDS = 0.05


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


@dataclass(frozen=True)
class _Begun:
    """A switch as stored: its `switching:<target>` mode and its start time (switch_started_ms; "0" for one an
    older version began, which stores none)."""

    mode: str
    started: str


class _EndedElsewhere(ModeForbidden):
    """This switch outlived abandoned_after and another worker ended it as abandoned (or a newer one began)."""


async def _switch(rt: Runtime, target: str) -> str:
    s = rt.server
    if s.switching and not s.switch_here:
        await _recover_abandoned(rt)
    if s.switching or s.switch_here:  # one under way here, or begun by another request while this one looked
        raise Unavailable("the server mode is already switching; retry later")
    previous = s.mode
    switch = _Begun(SWITCHING + target, str(int(time.time() * 1000)))
    s.switch_here = True
    try:
        s.generation = await _write_mode(rt, switch, leaving=previous)
        s.switching = True
        try:
            await _complete(rt, switch, target, previous)
        except _EndedElsewhere:
            raise
        except Exception:
            if s.switching:  # failed before the target was written: put the previous mode back
                await _restore(rt, switch, previous)
            raise
    finally:
        s.switch_here = False
    log.info("server mode changed to %s", target)
    return target


async def _complete(rt: Runtime, switch: _Begun, target: str, previous: str) -> None:
    s = rt.server
    deadline = time.monotonic() + rt.settings.mode_switch_timeout_seconds
    if await _wait_for_workers(rt, s.generation, deadline):
        await _end(rt, switch, previous, target)
        raise ModeForbidden(
            f"switching to {target} mode timed out: requests were still running; the server stays in "
            f"{previous} mode") from None
    await _end(rt, switch, target, target)
    # Every live worker has applied the new mode before the switch answers.
    late = await _wait_for_workers(rt, s.generation, deadline, require_idle=False)
    if late:
        log.warning("worker(s) %s did not acknowledge the switch to %s in time", ", ".join(late), target)


async def _end(rt: Runtime, switch: _Begun, mode: str, target: str) -> None:
    """End this process's switch in `mode`, unless another worker ended it as abandoned meanwhile."""
    if await _end_switch(rt, switch, mode) is None:
        _apply(rt, await _read_state(rt))
        raise _EndedElsewhere(
            f"switching to {target} mode took longer than {abandoned_after(rt):.0f} s and another worker ended it "
            f"as abandoned; the server is in {rt.server.mode} mode")


async def _restore(rt: Runtime, switch: _Begun, previous: str) -> None:
    """Write `previous` back after a switch failed half way (the database went away, say); if that fails too,
    the switch is left to be recovered as abandoned (`_recover_abandoned`)."""
    try:
        gen = await _end_switch(rt, switch, previous)
    except Exception:
        log.error("the switch from %s mode failed and that mode could not be written back: every worker answers "
                  "503 until the switch is recovered as abandoned, %.0f s after it began", previous,
                  abandoned_after(rt))
        return
    if gen is not None:
        log.warning("the switch from %s mode failed half way; %s mode was written back", previous, previous)


def abandoned_after(rt: Runtime) -> float:
    """Seconds after which a switch still under way was abandoned: the longest a switch's request may run (its
    switch's own timeout and a request's time limit). Its process was killed or stopped, or lost the database
    and could not write the previous mode back. A live switch that outlives it (a process paused for that long)
    is ended as abandoned all the same, and its own ending is refused (`_end_switch`)."""
    return rt.settings.mode_switch_timeout_seconds + rt.settings.request_timeout_seconds


def _abandoned_in(rt: Runtime, values: dict[str, str]) -> float | None:
    """Seconds until the switch stored in `values` counts as abandoned (0 or less: it does); None when no switch
    is stored. One begun by an older version, which stores no start time, counts from when this worker first
    saw it."""
    mode = values.get(MODE, "")
    if not mode.startswith(SWITCHING):
        return None
    started_ms = int(values.get(SWITCH_STARTED) or "0")
    if started_ms:
        return started_ms / 1000 + abandoned_after(rt) - time.time()
    s = rt.server
    key = f"{mode} {values.get(GENERATION)}"
    if s.keyless_switch_seen is None or s.keyless_switch_seen[0] != key:
        s.keyless_switch_seen = (key, time.monotonic())
    return s.keyless_switch_seen[1] + abandoned_after(rt) - time.monotonic()


async def _recover_abandoned(rt: Runtime, values: dict[str, str] | None = None) -> bool:
    """End an abandoned switch (the one stored in `values`, or read now) in the mode it left, once, whichever
    worker comes first; whether no switch is under way now."""
    s = rt.server
    if values is None:
        values = await _read_state(rt)
    left = _abandoned_in(rt, values)
    if left is None:
        _apply(rt, values)
        return True
    if left > 0:
        return False
    switch = _Begun(values[MODE], values.get(SWITCH_STARTED) or "0")
    # The mode it left: stored with it, or for an older version's switch the one this worker was in.
    previous = values.get(SWITCH_FROM, PRODUCTION) if switch.started != "0" else s.mode
    if await _end_switch(rt, switch, previous) is None:
        _apply(rt, await _read_state(rt))
        return not s.switching
    log.warning("a switch from %s mode begun %.0f s ago was abandoned (its worker stopped, or lost the database "
                "and could not write that mode back); %s mode was written back", previous,
                abandoned_after(rt) - left, previous)
    return True


class _Superseded(Exception):
    """The stored switch is no longer the one to end: a newer one to the same mode began."""


async def _end_switch(rt: Runtime, switch: _Begun, mode: str) -> int | None:
    """Write `mode` in place of the stored `switch`, under a new generation acknowledged by this process, signal
    the other processes, and apply it here; None, writing nothing, when the stored state is no longer that
    switch (another worker ended it, or a newer one began). Whichever of the switch's own worker and the workers
    recovering it comes first ends it; the others find it gone."""
    s = rt.server
    busy = s.busy

    async def work(conn: AsyncConnection) -> int | None:
        claimed = await conn.execute(update(server_state).where(
            server_state.c.name == MODE, server_state.c.value == switch.mode).values(value=mode))
        if claimed.rowcount != 1:
            return None
        started = await conn.scalar(select(server_state.c.value).where(server_state.c.name == SWITCH_STARTED))
        if (started or "0") != switch.started:
            raise _Superseded
        await _set(conn, SWITCH_STARTED, "0")  # no start time is left for an older version's next switch
        gen = await store.bump(conn, GENERATION)
        await _ack_row(conn, rt, gen, busy)
        await rt.parts["events"].signal(conn)
        return gen

    try:
        gen = await rt.db.write(work)
    except _Superseded:
        return None
    if gen is not None:
        s.acked_generation, s.acked_inflight = gen, busy
        s.generation, s.mode, s.switching = gen, mode, False
    return gen


async def _write_mode(rt: Runtime, switch: _Begun, leaving: str) -> int:
    """Begin `switch`: store its mode (`switching:<target>`) and start time, and the mode it is `leaving`, under
    a new generation acknowledged by this process, and signal the other processes."""
    s = rt.server
    busy = s.busy

    async def work(conn: AsyncConnection) -> int:
        gen = await store.bump(conn, GENERATION)
        await _set(conn, MODE, switch.mode)
        await _set(conn, SWITCH_FROM, leaving)
        await _set(conn, SWITCH_STARTED, switch.started)
        await _ack_row(conn, rt, gen, busy)
        await rt.parts["events"].signal(conn)
        return gen

    gen = await rt.db.write(work)
    s.acked_generation, s.acked_inflight = gen, busy
    return gen


def live_seconds(rt: Runtime) -> float:
    """How long a switch waits for a worker's first acknowledgement before it presumes the worker gone."""
    return LIVE_SECONDS + 2 * rt.parts["events"].reaction_seconds


async def wait_for_workers(rt: Runtime, gen: int, seconds: float) -> list[str]:
    """Wait until every other registered worker has acknowledged generation `gen` of the server state (and so
    applied what was written with it), at most `seconds`; the workers still behind then."""
    return await _wait_for_workers(rt, gen, time.monotonic() + seconds, require_idle=False)


async def _wait_for_workers(rt: Runtime, gen: int, deadline: float, require_idle: bool = True) -> list[str]:
    """Wait until every registered worker acknowledged `gen` (and, with require_idle, has no request in
    flight, this process's own switch request aside); the workers still waited for at the deadline (this
    one's id when its own requests are), none when done.

    Workers answer within milliseconds of the change signal (a poll period without one); a worker that has
    not answered within live_seconds is presumed gone (killed without leaving the table) and its row removed.
    """
    s = rt.server
    changes = rt.parts["events"].changes
    presume_gone_at = time.monotonic() + live_seconds(rt)
    s.awaiting += 1
    try:
        while True:
            seen = changes.count
            local_ok = s.busy == 0 or not require_idle
            presumed = time.monotonic() >= presume_gone_at
            waiting = await _unacknowledged(rt, gen, require_idle, presumed)
            if local_ok and not waiting:
                return []
            now = time.monotonic()
            if now > deadline:
                return waiting if local_ok else [s.worker_id, *waiting]
            await changes.wait(seen, next_pause(now, deadline, presume_gone_at, presumed, local_ok))
    finally:
        s.awaiting -= 1


def next_pause(now: float, deadline: float, presume_gone_at: float, presumed: bool, local_ok: bool) -> float:
    """How long a switch waits for the next change before it reads the workers' rows again: until its deadline,
    or sooner to see its own requests finish, or to presume silent workers gone. `presumed` says whether the
    read just made did; a read that did not, even one that ended after presume_gone_at (its wait woke a moment
    early, or the read was slow), is followed at once by one that does."""
    pause = deadline - now
    if not local_ok:
        pause = min(pause, LOCAL_CHECK_SECONDS)
    if not presumed:
        pause = min(pause, max(presume_gone_at - now, 0.0))
    return pause


async def _unacknowledged(rt: Runtime, gen: int, require_idle: bool, presume_gone: bool) -> list[str]:
    """The other workers still to acknowledge `gen` (or to finish their requests). With presume_gone, those
    that have not acknowledged it at all are removed from the table instead."""
    async with rt.db.read() as conn:
        rows = (await conn.execute(select(
            server_worker.c.worker_id, server_worker.c.seen_generation, server_worker.c.inflight))).all()
    waiting, gone = [], []
    for worker_id, seen, inflight in rows:
        if worker_id == rt.server.worker_id:
            continue
        if seen >= gen:
            if require_idle and inflight > 0:
                waiting.append(worker_id)
        elif presume_gone:
            gone.append(worker_id)
        else:
            waiting.append(worker_id)
    if gone:
        log.warning("worker(s) %s did not acknowledge the mode switch within %.1f s: presumed gone",
                    ", ".join(gone), live_seconds(rt))

        async def forget(conn: AsyncConnection) -> None:
            await conn.execute(delete(server_worker).where(
                server_worker.c.worker_id.in_(gone), server_worker.c.seen_generation < gen))

        await rt.db.write(forget)
    return waiting


async def _ack_row(conn: AsyncConnection, rt: Runtime, seen: int, inflight: int) -> None:
    """Register this worker with the generation it has applied and its requests in flight."""
    s = rt.server
    await upsert(conn, server_worker, {
        "worker_id": s.worker_id, "pid": os.getpid(), "heartbeat_ms": int(time.time() * 1000),
        "seen_generation": seen, "inflight": inflight}, ["worker_id"], ["heartbeat_ms", "seen_generation", "inflight"])


async def _acknowledge(rt: Runtime) -> None:
    """Write this worker's acknowledgement of the generation it serves, and signal it."""
    s = rt.server
    gen, busy = s.generation, s.busy

    async def work(conn: AsyncConnection) -> None:
        await _ack_row(conn, rt, gen, busy)
        await rt.parts["events"].signal(conn)

    await rt.db.write(work)
    s.acked_generation, s.acked_inflight = gen, busy


async def load_state(rt: Runtime) -> None:
    """Apply the stored mode and generations to this process (a fresh database starts in production), and
    register this worker."""
    values = await _read_state(rt)
    if MODE not in values:
        async def init(conn: AsyncConnection) -> None:
            await _set(conn, MODE, PRODUCTION)

        await rt.db.write(init)
        values[MODE] = PRODUCTION
    _apply(rt, values)
    await rt.parts["events"].before_register()
    await _acknowledge(rt)


async def _read_state(rt: Runtime) -> dict[str, str]:
    """The server state as stored (mode, generations, the switch under way)."""
    async with rt.db.read() as conn:
        return await store.read_state(conn)


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
    # Generations only grow: a read older than this process's own schema change (taken before that change
    # committed, applied after) must not move the generation back, which would drop the cache twice.
    if schema_gen > rt.schemas.generation:
        rt.schemas.generation = schema_gen
        rt.schemas.invalidate()


async def watch(rt: Runtime) -> None:
    """Follow the mode and schema generation written by other workers, and acknowledge each mode generation
    (again when its requests are done, while a switch waits for them); runs until cancelled.

    It reads the server state only when the event bus signals a change (NOTIFY, SQLite's data version, or
    a poll period when the engine has no signal) and writes only to acknowledge: an idle worker costs the
    database nothing on PostgreSQL and SQLite.
    """
    s = rt.server
    bus = rt.parts["events"]
    changes = bus.changes
    # While a switch runs or acknowledgements are awaited, the next steps come within milliseconds: the bus
    # looks for them more often.
    bus.hurry = lambda: s.switching or s.awaiting > 0
    read_at = -1
    values: dict[str, str] = {}
    while True:
        pause: float | None = None
        try:
            if changes.count != read_at:
                seen = changes.count
                values = await _read_state(rt)
                read_at = seen
                if int(values.get(GENERATION, "0")) >= s.generation:
                    _apply(rt, values)
            # A switch under way in another process (or left by this one's former self) that outlived the
            # longest a switch may take was abandoned: the first worker to see that writes the previous mode back.
            if s.switching and not s.switch_here:
                left = _abandoned_in(rt, values)
                if left is not None and left > 0:
                    pause = left
                elif left is not None:
                    await _recover_abandoned(rt, values)
                    read_at = -1  # read what was written, by this worker or another
                    continue
            # A switch requested of this process acknowledges its generations in its own writes.
            # A switch may wait for this worker's requests, even once the switch is over here (another worker
            # ended it as abandoned while its own worker still waits): tell it when they are done.
            if not s.switch_here and (s.acked_generation != s.generation
                                      or (s.acked_inflight > 0 and s.busy == 0)):
                await _acknowledge(rt)
            if s.acked_inflight > 0:
                pause = LOCAL_CHECK_SECONDS
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away; keep watching
            log.debug("mode watcher could not follow the server state", exc_info=True)
            await asyncio.sleep(rt.settings.mode_poll_seconds)
            continue
        await changes.wait(read_at, pause)


async def unregister(rt: Runtime) -> None:
    """Remove this worker from the acknowledgement table at shutdown (then what showed it alive)."""
    async def work(conn: AsyncConnection) -> None:
        await conn.execute(delete(server_worker).where(server_worker.c.worker_id == rt.server.worker_id))
        await rt.parts["events"].signal(conn)

    left = False
    try:
        await rt.db.write(work)
        left = True
    except Exception:
        log.debug("could not unregister worker", exc_info=True)
    await rt.parts["events"].after_unregister(left)
