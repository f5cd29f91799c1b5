"""Extension records of every level (profile, service, state, task) and their unique values."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from ucs_graphql.db.tables.base import metadata

# One row per record. `owner` is the customer id, or the service/state/task id in decimal.
extension_record = Table(
    "extension_record",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("level", String(8), primary_key=True),
    Column("owner", String(32), primary_key=True),
    Column("ext", String(26), primary_key=True),
    Column("rec_no", Integer, primary_key=True),
    Column("data", Text, nullable=False),
)

# The database enforces uniqueness: one row per (record, unique group) holding the group's values, with
# a primary key that refuses a second record of the same owner and extension with the same values.
# Single-valued extensions use group 0 with an empty value, so an owner has at most one record.
extension_unique = Table(
    "extension_unique",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("level", String(8), primary_key=True),
    Column("owner", String(32), primary_key=True),
    Column("ext", String(26), primary_key=True),
    Column("grp", Integer, primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("rec_no", Integer, nullable=False),
)

# No index by extension name: dropping an extension schema (a maintenance operation) scans both tables,
# while an index on it would cost every record written (migration 0005 drops the one earlier releases had).
