"""Every statement the code sends to a tenant table names tenant_id: a cursor hook on every engine of the
test process records those that do not, with the code that sent them.

Statements sent by tests themselves (seeding, wiping, checking) are not the code's and are left out: a
statement counts when the innermost frame outside SQLAlchemy and the driver glue is in ucs_graphql/,
rest_compat/ or bench/ (Alembic migrations excepted). SQLAlchemy's async layer runs statements in a
greenlet, so the walk continues in the parent greenlet's suspended frames.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import greenlet
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ucs_graphql.db.tables import metadata

ROOT = Path(__file__).resolve().parent.parent

# Tables every tenant shares, with why they have no tenant_id. Every other table is a tenant table.
SERVER_WIDE = {
    "server_state": "the server's mode and cache generations, one row per setting for every tenant",
    "server_worker": "the serving processes of the whole server, which acknowledge mode switches",
    "event_outbox": "SQLite's journey events for the other processes, read by every process whatever the tenant",
    "id_high_water": "SQLite's stand-in for the id sequences, which PostgreSQL shares among tenants too",
    "alembic_version": "Alembic's record of the schema revision (not in the models' metadata)",
}

# Deliberate cross-tenant statements: "path:function" of the code that sends them -> why.
ALLOWED: dict[str, str] = {
    "ucs_graphql/crypto/reencrypt.py:_tenants": "re-encryption (maintenance mode) first finds which tenants hold "
    "values sealed the old way; it then works tenant by tenant",
}

TENANT_TABLES = frozenset(name for name in metadata.tables if name not in SERVER_WIDE)
_TABLE_REF = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?(?:\s+AS\s+"?(\w+)"?)?', re.IGNORECASE)
_DML = ("select", "insert", "update", "delete", "with")
_CODE = tuple(str(ROOT / d) + "/" for d in ("ucs_graphql", "rest_compat", "bench"))
_SKIP = (str(ROOT / "ucs_graphql" / "db" / "fast.py"), str(ROOT / "ucs_graphql" / "migrations") + "/",
         str(ROOT / "ucs_graphql" / "db" / "migrate.py"))

violations: list[tuple[str, str]] = []
seen = [0]  # data statements on tenant tables sent by the code, scoped or not


def _frames() -> Iterator[Any]:
    frame: Any = sys._getframe(2)
    glet: Any = greenlet.getcurrent()
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        glet = glet.parent
        if glet is None:
            return
        frame = glet.gr_frame


def _sender() -> str | None:
    """"path:function:line" of the code that sent the statement; None when a test or tool sent it."""
    for frame in _frames():
        path = frame.f_code.co_filename
        if "/site-packages/" in path or "/lib/python3" in path or path == __file__ or path.startswith(_SKIP):
            continue
        if path.startswith(_CODE):
            return f"{Path(path).relative_to(ROOT)}:{frame.f_code.co_name}:{frame.f_lineno}"
        return None
    return None


def unscoped_tables(statement: str) -> list[str]:
    """The tenant tables a data statement reads or changes without comparing their tenant_id to something
    ([] when every one is scoped). An INSERT is scoped when it names the column; otherwise each table (or
    its alias) needs `<table>.tenant_id =`, `IN`, `IS`, or a comparison with it on the right, and a
    statement on one table may name the column unqualified."""
    low = " ".join(statement.split())
    if not low.lower().startswith(_DML):
        return []
    refs = {(t, alias or t) for t, alias in _TABLE_REF.findall(low) if t in TENANT_TABLES}
    # Rows inserted (also inside WITH clauses) are scoped when the INSERT's column list names tenant_id.
    inserted = {t for t, cols in re.findall(r'\bINTO\s+"?(\w+)"?\s*\(([^)]*)\)', low, re.IGNORECASE)
                if "tenant_id" in cols}
    refs = {(t, name) for t, name in refs if t not in inserted or re.search(
        rf'\b(?:FROM|JOIN|UPDATE)\s+"?{t}"?\b', low, re.IGNORECASE)}
    if not refs:
        return []
    bare = len(refs) == 1 and re.search(r'(?<![.\w"])"?tenant_id"?\s*(?:=|IN\b|IS\b)', low, re.IGNORECASE)
    out = set()
    for table, name in refs:
        q = rf'"?{name}"?\."?tenant_id"?'
        if not (bare or re.search(rf"{q}\s*(?:=|IN\b|IS\b)|=\s*{q}", low, re.IGNORECASE)):
            out.add(table)
    return sorted(out)


def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
    if not statement.lstrip().lower().startswith(_DML) or not _TABLE_REF.search(statement):
        return
    sender = _sender()
    if sender is None:
        return
    seen[0] += 1
    if not unscoped_tables(statement):
        return
    if sender.rsplit(":", 1)[0] in ALLOWED:
        return
    violations.append((sender, " ".join(statement.split())[:300]))


def install() -> None:
    """Record on every engine of this process (idempotent)."""
    if not event.contains(Engine, "before_cursor_execute", _before):
        event.listen(Engine, "before_cursor_execute", _before)
