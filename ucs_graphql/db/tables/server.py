"""Server-wide state: the mode, cache generations, and the workers that acknowledge mode switches."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from ucs_graphql.db.tables.base import metadata

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
