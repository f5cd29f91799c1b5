"""Tables of the profiles context: customer profiles and the identification index."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from ucs_graphql.db.tables.base import metadata

# One row per customer. `data` is a JSON object: attribute name -> list of values (the first is the
# primary one); values of encrypted attributes are ciphertext (see ucs_graphql.crypto).
profile = Table(
    "profile",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("customer_id", String(16), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
)

# Identification index: one row per (key, value, customer). `value` is the key's attributes, normalised
# and encoded (ucs_graphql.identification.values). `slot` is "" for a unique key, so the primary key
# refuses a second customer with the same values, and the customer id for a non-unique key.
ident_entry = Table(
    "ident_entry",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("key", String(26), primary_key=True),
    Column("value", String(1024), primary_key=True),
    Column("slot", String(16), primary_key=True),
    Column("customer_id", String(16), nullable=False),
)

Index("ix_ident_entry_customer", ident_entry.c.tenant_id, ident_entry.c.customer_id, ident_entry.c.key)
