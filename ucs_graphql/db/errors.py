"""Driver errors normalised at the storage boundary: unique violations, retryable contention, outages."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc


class UniqueViolation(Exception):
    """A unique or primary-key constraint refused a write; `constraint` names it when the driver says."""

    def __init__(self, constraint: str | None, detail: str) -> None:
        super().__init__(detail)
        self.constraint = constraint


_RETRYABLE_PG = {"40001", "40P01", "55P03"}


def _sqlstate(err: BaseException) -> str | None:
    orig = getattr(err, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if candidate is None:
            continue
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def _sqlite_error(err: BaseException) -> sqlite3.Error | None:
    orig = getattr(err, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if isinstance(candidate, sqlite3.Error):
            return candidate
    return None


def as_unique_violation(err: sa_exc.IntegrityError) -> UniqueViolation | None:
    """The UniqueViolation an IntegrityError stands for, or None when it is another integrity error."""
    state = _sqlstate(err)
    if state == "23505":
        orig = getattr(err, "orig", None)
        cause = getattr(orig, "__cause__", None)
        name = getattr(cause, "constraint_name", None)
        return UniqueViolation(name, "unique violation")
    lite = _sqlite_error(err)
    if lite is not None:
        errname = getattr(lite, "sqlite_errorname", "")
        if errname in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
            # "UNIQUE constraint failed: table.col, table.col": name it by its columns.
            text = str(lite)
            cols = text.split(":", 1)[1].strip() if ":" in text else None
            return UniqueViolation(cols, "unique violation")
    return None


def is_unstorable_text(err: BaseException) -> bool:
    """PostgreSQL refused a text value it cannot store (a NUL character: SQLSTATE 22021 or 22P05)."""
    return _sqlstate(err) in ("22021", "22P05") or "invalid byte sequence" in str(getattr(err, "orig", ""))


def is_retryable(err: BaseException) -> bool:
    """Contention that a retry may clear: SQLite busy/locked, PostgreSQL serialization or deadlock."""
    if _sqlstate(err) in _RETRYABLE_PG:
        return True
    lite = _sqlite_error(err)
    if lite is not None:
        name = getattr(lite, "sqlite_errorname", "")
        return name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in str(lite)
    return False


def is_unreachable(err: BaseException) -> bool:
    """The database cannot be reached (connection refused, reset, timed out)."""
    if isinstance(err, sa_exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, (ConnectionError, TimeoutError, OSError)):
        return True
    if isinstance(err, sa_exc.InterfaceError) and "connection is closed" in str(err):
        return True
    orig = getattr(err, "orig", None)
    return isinstance(getattr(orig, "__cause__", None), (ConnectionError, TimeoutError, OSError))
