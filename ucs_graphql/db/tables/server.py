"""Server-wide state: the mode, cache generations, and the workers that acknowledge mode switches."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from ucs_graphql.db.tables.base import Id64, metadata

# One row per setting: "mode" (production|maintenance|switching:<target>), "schema_generation".
server_state = Table(
    "server_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Each serving process registers itself and acknowledges the mode generation it has applied.
server_worker = Table(
    "server_worker",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("heartbeat_ms", BigInteger, nullable=False),
    Column("seen_generation", BigInteger, nullable=False),
    Column("inflight", Integer, nullable=False),
)

# SQLite: the journey events of each write, for the other processes on the same file (ucs_graphql.events.sqlite);
# the newest rows only. Unused on PostgreSQL, where events travel by NOTIFY.
event_outbox = Table(
    "event_outbox",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("origin", String(64), nullable=False),
    Column("payload", Text, nullable=False),
)
