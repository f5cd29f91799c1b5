"""Interactions: one row per interaction (wire fields as a JSON document) and their content apart.

Content (plain text, structured text, binary) lives in its own table so that listing a customer's or a
service's interactions never reads a blob.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, String, Table, Text

from ucs_graphql.db.tables.base import Id64, metadata

interaction = Table(
    "interaction",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("interaction_id", String(64), primary_key=True),
    Column("customer_id", String(16), nullable=False),
    Column("service_id", Id64, nullable=True),
    Column("entity_type", Integer, nullable=False),
    Column("start_ms", Id64, nullable=False),
    # Every wire field except content, with dates already in the wire format.
    Column("doc", Text, nullable=False),
    Column("has_text", Boolean, nullable=False),
    Column("has_structured_text", Boolean, nullable=False),
    Column("has_binary_content", Boolean, nullable=False),
)

# part: "plain_text", "structured_text" or "binary_content"; text parts are stored UTF-8 encoded.
interaction_content = Table(
    "interaction_content",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("interaction_id", String(64), primary_key=True),
    Column("part", String(16), primary_key=True),
    Column("mime", String(255), nullable=False),
    Column("size", Id64, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

Index("ix_interaction_customer", interaction.c.tenant_id, interaction.c.customer_id, interaction.c.start_ms)
Index("ix_interaction_service", interaction.c.tenant_id, interaction.c.service_id)
