"""Schema metadata per tenant: profile attributes, extension schemas, identification keys."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, UniqueConstraint

from ucs_graphql.db.tables.base import metadata

# Profile attributes added with POST /metadata/profiles (the predefined ones live in code/config).
profile_attribute = Table(
    "profile_attribute",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("name_lc", String(30), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

# Extension schemas of the four levels; name_lc makes names case-insensitively unique per level.
extension_schema = Table(
    "extension_schema",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("level", String(8), primary_key=True),
    Column("name_lc", String(26), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

# Identification keys; seq orders them by creation ("the key with the lowest ID").
identification_key = Table(
    "identification_key",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("name_lc", String(26), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
    UniqueConstraint("tenant_id", "seq"),
)
