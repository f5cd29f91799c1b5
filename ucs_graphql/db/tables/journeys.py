"""Tables of the journeys context: services, their states and tasks (extensions live in extension_record).

Ids are server-assigned, increasing and never reused: the id alone is the primary key so SQLite can
use AUTOINCREMENT (and PostgreSQL an identity sequence). Every row carries tenant_id, every query filters
by it, and every index leads with it. A service's customer_id is a plain column (no foreign key): services
may name a customer before or without a stored profile, and profile deletes/merges clean up through
ucs_graphql.journeys.customer_links.

Times are UTC milliseconds since the epoch. `started`/`completed` hold the start/end event documents as
given (JSON, business-attribute values normalised), without the fields the resource keeps at item level.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from ucs_graphql.db.tables.base import Id64, metadata

TYPE_LEN = 64
CUSTOMER_ID_LEN = 64
CONTACT_KEY_LEN = 256
DISPOSITION_DESC_LEN = 64


def _item_columns() -> list[Column[Any]]:
    """Columns every journey item (service, state, task) has."""
    return [
        Column("est_duration", BigInteger, nullable=True),
        Column("started_at", BigInteger, nullable=False),
        Column("completed_at", BigInteger, nullable=True),
        Column("disposition", String(TYPE_LEN), nullable=True),
        Column("disposition_desc", String(DISPOSITION_DESC_LEN), nullable=True),
        Column("started", Text, nullable=False),
        Column("completed", Text, nullable=True),
    ]


service = Table(
    "service",
    metadata,
    Column("service_id", Id64, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("customer_id", String(CUSTOMER_ID_LEN), nullable=True),
    Column("contact_key", String(CONTACT_KEY_LEN), nullable=True),
    Column("service_type", String(TYPE_LEN), nullable=False),
    *_item_columns(),
    sqlite_autoincrement=True,
)

state = Table(
    "service_state",
    metadata,
    Column("state_id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("service_id", BigInteger, nullable=False),
    Column("state_type", String(TYPE_LEN), nullable=False),
    Column("previous_state_id", Integer, nullable=True),
    *_item_columns(),
    sqlite_autoincrement=True,
)

task = Table(
    "service_task",
    metadata,
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("service_id", BigInteger, nullable=False),
    Column("state_id", Integer, nullable=True),
    Column("task_type", String(TYPE_LEN), nullable=False),
    *_item_columns(),
    sqlite_autoincrement=True,
)

Index("ix_service_customer", service.c.tenant_id, service.c.customer_id, service.c.completed_at)
Index("ix_service_contact_key", service.c.tenant_id, service.c.contact_key, service.c.completed_at)
Index("ix_service_state_service", state.c.tenant_id, state.c.service_id)
Index("ix_service_task_service", task.c.tenant_id, task.c.service_id)
