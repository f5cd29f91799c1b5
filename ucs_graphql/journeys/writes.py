"""The journey writes with their checks, each one statement where the database allows it.

Starting a state or task checks its service (and the state it names) and inserts; completing checks the
service and updates; a transition completes one state and starts the next. On PostgreSQL each write is one
statement: the checks and the writes are WITH clauses (the service row held FOR SHARE against completion,
as the step-by-step form holds it). A write with nothing else in its transaction (no extension records) is
sent alone, without BEGIN and COMMIT: one round trip (ucs_graphql.db.fast). Other engines (SQLite, and
PostgreSQL-compatible engines with a dialect of their own) run the same checks and writes as a few simple
statements in the caller's transaction. Either way the bus publishes the event once the write has committed
(ucs_graphql.events.bus).

Each function reports what it found (the service absent or completed, the named state absent or completed)
and what it wrote, the same in both forms; the use cases turn that into their answers. The statements are
built once per shape (level, columns given) and compiled once per dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.fast import FastShapes
from ucs_graphql.db.tables.journeys import service, state
from ucs_graphql.journeys import store
from ucs_graphql.journeys.store import LEVELS, SERVICE, STATE, TASK, Level


@dataclass(frozen=True)
class Outcome:
    """What a write found and did.

    `found`/`active`: the service exists / is not completed. `state_found`/`state_active`: the state the
    write names (a new state's previous state, a new task's state; True when it names none). `item_id`: the
    item inserted or completed, None when nothing was written. `state_id`: a completed task's state.
    """

    found: bool
    customer_id: str | None = None
    active: bool = False
    state_found: bool = True
    state_active: bool = True
    item_id: int | None = None
    state_id: int | None = None


NOT_FOUND = Outcome(found=False)


def _one_statement(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _values(level: Level, cols: list[str]) -> list[Any]:
    """Typed binds of an INSERT ... SELECT's values (the tenant, then `v_<column>`)."""
    t = level.table
    return [bindparam("tenant", type_=t.c.tenant_id.type),
            *(bindparam(f"v_{c}", type_=t.c[c].type) for c in cols)]


def _service_held() -> Any:
    """The service row, held against completion until the write commits."""
    return (select(service.c.customer_id, service.c.completed_at)
            .where(service.c.tenant_id == bindparam("tenant"), service.c.service_id == bindparam("service_id"))
            .with_for_update(read=True).cte("srv"))


def _build_start_service(cols: frozenset[str]) -> Any:
    values: dict[str, Any] = {"tenant_id": bindparam("tenant"), **{c: bindparam(f"v_{c}") for c in sorted(cols)}}
    return insert(service).values(values).returning(service.c.service_id)


def _build_start_child(shape: tuple[str, frozenset[str], bool]) -> Any:
    """Insert a state or task into an active service; with a named state: a state's previous state must exist,
    a task's state must be active (and is held like the service)."""
    level, cols, named = LEVELS[shape[0]], sorted(shape[1]), shape[2]
    srv = _service_held()
    source: Any = srv
    found = [srv.c.customer_id, srv.c.completed_at]
    conds = [srv.c.completed_at.is_(None)]
    if named:
        st = select(state.c.state_id, state.c.completed_at).where(
            state.c.tenant_id == bindparam("tenant"), state.c.service_id == bindparam("service_id"),
            state.c.state_id == bindparam("named_state"))
        if level is TASK:
            st = st.with_for_update(read=True)
        named_cte = st.cte("named")
        source = srv.outerjoin(named_cte, true())
        found += [named_cte.c.state_id.label("named_id"), named_cte.c.completed_at.label("named_completed_at")]
        conds.append(named_cte.c.state_id.is_not(None))
        if level is TASK:
            conds.append(named_cte.c.completed_at.is_(None))
    new_id = level.id.name
    ins = (insert(level.table).from_select(["tenant_id", *cols], select(*_values(level, cols)).select_from(source)
                                           .where(*conds))
           .returning(level.id).cte("ins"))
    out = [*found, ins.c[new_id].label("new_id")]
    return select(*out).select_from(source.outerjoin(ins, true()))


def _build_complete_child(shape: tuple[str, frozenset[str]]) -> Any:
    """Complete an active state or task of an existing service (a task's state comes back for its event)."""
    level, cols = LEVELS[shape[0]], sorted(shape[1])
    t = level.table
    srv = _service_held()
    back = [level.id, t.c.state_id] if level is TASK else [level.id]
    done = (update(t).where(t.c.tenant_id == bindparam("tenant"), level.id == bindparam("item_id"),
                            t.c.completed_at.is_(None), t.c.service_id == bindparam("service_id"),
                            exists(select(srv.c.customer_id)))
            .values({c: bindparam(f"v_{c}") for c in cols}).returning(*back).cte("done"))
    done_id = done.c[level.id.name]
    out: list[Any] = [srv.c.customer_id, srv.c.completed_at, done_id.label("done_id")]
    if level is TASK:
        out.append(done.c.state_id)
    return select(*out).select_from(srv.outerjoin(done, true()))


def _build_transition(shape: tuple[frozenset[str], frozenset[str]]) -> Any:
    """Complete an active state of an active service and start the next one."""
    end, start = sorted(shape[0]), sorted(shape[1])
    srv = _service_held()
    done = (update(state).where(state.c.tenant_id == bindparam("tenant"), state.c.state_id == bindparam("item_id"),
                                state.c.completed_at.is_(None), state.c.service_id == bindparam("service_id"),
                                exists(select(srv.c.customer_id).where(srv.c.completed_at.is_(None))))
            .values({c: bindparam(f"e_{c}") for c in end}).returning(state.c.state_id).cte("done"))
    ins = (insert(state).from_select(["tenant_id", *start], select(*_values(STATE, start)).select_from(done))
           .returning(state.c.state_id).cte("ins"))
    out: list[Any] = [srv.c.customer_id, srv.c.completed_at, done.c.state_id.label("done_id"),
                      ins.c.state_id.label("new_id")]
    return select(*out).select_from(srv.outerjoin(done, true()).outerjoin(ins, true()))


def _build_complete_service(cols: frozenset[str]) -> Any:
    return (update(service).where(service.c.tenant_id == bindparam("tenant"),
                                  service.c.service_id == bindparam("service_id"), service.c.completed_at.is_(None))
            .values({c: bindparam(f"v_{c}") for c in sorted(cols)}).returning(service.c.customer_id))


_START_SERVICE = FastShapes(_build_start_service)
_START_CHILD = FastShapes(_build_start_child)
_COMPLETE_CHILD = FastShapes(_build_complete_child)
_TRANSITION = FastShapes(_build_transition)
_COMPLETE_SERVICE = FastShapes(_build_complete_service)


def _v(values: Mapping[str, Any], prefix: str = "v_") -> dict[str, Any]:
    return {f"{prefix}{k}": v for k, v in values.items()}


async def start_service(
    conn: AsyncConnection, tenant: int, values: dict[str, Any], *, last: bool
) -> Outcome:
    """Insert a service. `last`: nothing else is written in the transaction."""
    if not _one_statement(conn):
        return Outcome(True, values.get("customer_id"), True, item_id=await store.insert_item(
            conn, SERVICE, tenant, values))
    rows = await _START_SERVICE[frozenset(values)].fetch(conn, {"tenant": tenant, **_v(values)}, last=last)
    return Outcome(True, values.get("customer_id"), True, item_id=int(rows[0][0]))


async def start_child(
    conn: AsyncConnection, level: Level, tenant: int, service_id: int, values: dict[str, Any], *,
    named_state: int | None, last: bool,
) -> Outcome:
    """Insert a state or task (`values` name its service) when the service is active and, with `named_state`,
    a new state's previous state exists, or a new task's state is active (held until the write commits)."""
    if not _one_statement(conn):
        srv = await store.get_service(conn, tenant, service_id, lock="share")
        if srv is None:
            return NOT_FOUND
        if srv.completed_at is not None:
            return Outcome(True, srv.customer_id, False)
        if named_state is not None:
            st = await store.get_child(conn, STATE, tenant, service_id, named_state, lock=level is TASK)
            if st is None:
                return Outcome(True, srv.customer_id, True, state_found=False)
            if level is TASK and st.completed_at is not None:
                return Outcome(True, srv.customer_id, True, state_active=False)
        return Outcome(True, srv.customer_id, True, item_id=await store.insert_item(conn, level, tenant, values))
    stmt = _START_CHILD[(level.name, frozenset(values), named_state is not None)]
    rows = await stmt.rows(conn, {"tenant": tenant, "service_id": service_id, "named_state": named_state,
                                  **_v(values)}, last=last)
    if not rows:
        return NOT_FOUND
    row = rows[0]
    state_found = named_state is None or row.named_id is not None
    return Outcome(True, row.customer_id, row.completed_at is None, state_found=state_found,
                   state_active=not state_found or named_state is None or row.named_completed_at is None,
                   item_id=row.new_id)


async def complete_child(
    conn: AsyncConnection, level: Level, tenant: int, service_id: int, item_id: int, values: dict[str, Any], *,
    last: bool,
) -> Outcome:
    """Complete an active state or task of an existing service (held until the write commits)."""
    if not _one_statement(conn):
        srv = await store.get_service(conn, tenant, service_id, lock="share")
        if srv is None:
            return NOT_FOUND
        row = await store.complete_item(conn, level, tenant, service_id, item_id, values)
        return Outcome(True, srv.customer_id, srv.completed_at is None, item_id=None if row is None else item_id,
                       state_id=row.state_id if row is not None and level is TASK else None)
    stmt = _COMPLETE_CHILD[(level.name, frozenset(values))]
    rows = await stmt.rows(conn, {"tenant": tenant, "service_id": service_id, "item_id": item_id, **_v(values)},
                           last=last)
    if not rows:
        return NOT_FOUND
    row = rows[0]
    return Outcome(True, row.customer_id, row.completed_at is None, item_id=row.done_id,
                   state_id=row.state_id if level is TASK else None)


async def transition(
    conn: AsyncConnection, tenant: int, service_id: int, from_id: int, end: dict[str, Any], start: dict[str, Any],
    *, last: bool,
) -> Outcome:
    """Complete state `from_id` with `end` and start one with `start` (which names the service and the previous
    state) when the service is active and the state is active. `item_id` is the new state; `state_found`
    False when nothing was completed (the state is absent or completed already)."""
    if not _one_statement(conn):
        srv = await store.get_service(conn, tenant, service_id, lock="share")
        if srv is None:
            return NOT_FOUND
        if srv.completed_at is not None:
            return Outcome(True, srv.customer_id, False)
        if await store.complete_item(conn, STATE, tenant, service_id, from_id, end) is None:
            return Outcome(True, srv.customer_id, True, state_found=False)
        return Outcome(True, srv.customer_id, True, item_id=await store.insert_item(conn, STATE, tenant, start))
    stmt = _TRANSITION[(frozenset(end), frozenset(start))]
    rows = await stmt.rows(conn, {"tenant": tenant, "service_id": service_id, "item_id": from_id, **_v(end, "e_"),
                                  **_v(start)}, last=last)
    if not rows:
        return NOT_FOUND
    row = rows[0]
    active = row.completed_at is None
    return Outcome(True, row.customer_id, active, state_found=not active or row.done_id is not None,
                   item_id=row.new_id)


async def complete_service(
    conn: AsyncConnection, tenant: int, service_id: int, values: dict[str, Any], *, last: bool,
) -> Outcome:
    """Complete an active service; `found` False when nothing was completed (absent or completed already)."""
    if not _one_statement(conn):
        row = await store.complete_item(conn, SERVICE, tenant, service_id, service_id, values)
        return NOT_FOUND if row is None else Outcome(True, row.customer_id, False, item_id=service_id)
    rows = await _COMPLETE_SERVICE[frozenset(values)].fetch(
        conn, {"tenant": tenant, "service_id": service_id, **_v(values)}, last=last)
    if not rows:
        return NOT_FOUND
    return Outcome(True, rows[0][0], False, item_id=service_id)
