"""Tables of the journeys context: services, their states and tasks (extensions live in extension_record).

Ids are server-assigned, increasing, unique across tenants and never reused. The primary key is
(tenant_id, id), so each table can be distributed by tenant (docs/scale-out.md). PostgreSQL draws ids from
one sequence per table (the column's serial default: nextval takes no row lock); SQLite, a single node,
from `id_high_water`, the highest id each table ever had, which a trigger per table raises on every insert
(migration 0006) so that deleting the newest item never hands its id out again. Every query filters by
tenant_id, and every index leads with it. A service's customer_id is a plain column (no foreign key): services
may name a customer before or without a stored profile, and profile deletes/merges clean up through
ucs_graphql.journeys.customer_links.

Times are UTC milliseconds since the epoch. `started`/`completed` hold the start/end event documents as
given (JSON, business-attribute values normalised), without the fields the resource keeps at item level.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, literal_column
from sqlalchemy.sql.elements import ColumnElement

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
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("service_id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", String(CUSTOMER_ID_LEN), nullable=True),
    Column("contact_key", String(CONTACT_KEY_LEN), nullable=True),
    Column("service_type", String(TYPE_LEN), nullable=False),
    *_item_columns(),
)

state = Table(
    "service_state",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("state_id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", BigInteger, nullable=False),
    Column("state_type", String(TYPE_LEN), nullable=False),
    Column("previous_state_id", Integer, nullable=True),
    *_item_columns(),
)

task = Table(
    "service_task",
    metadata,
    Column("tenant_id", Integer, primary_key=True, autoincrement=False),
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", BigInteger, nullable=False),
    Column("state_id", Integer, nullable=True),
    Column("task_type", String(TYPE_LEN), nullable=False),
    *_item_columns(),
)

Index("ix_service_customer", service.c.tenant_id, service.c.customer_id, service.c.completed_at)
Index("ix_service_contact_key", service.c.tenant_id, service.c.contact_key, service.c.completed_at)
Index("ix_service_state_service", state.c.tenant_id, state.c.service_id)
Index("ix_service_task_service", task.c.tenant_id, task.c.service_id)

# SQLite only (PostgreSQL uses the sequences): the highest id each table (by name) ever had. Server-wide,
# like the sequences it stands for; one row per table is no hot spot on a single-node engine.
id_high_water = Table(
    "id_high_water",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last", BigInteger, nullable=False),
)

# The largest service id: ids travel as JSON numbers, exact in JavaScript up to 2^53 - 1.
MAX_SERVICE_ID = 2**53 - 1


def new_id(dialect: str, table: Table) -> dict[str, ColumnElement[int]]:
    """The id column's value for an INSERT into `table`: none on PostgreSQL (the sequence gives it), the next
    id after the table's high-water mark on SQLite."""
    if dialect != "sqlite":
        return {}
    # Literal SQL (table names are constants): the hot path's fast statements bind only the values.
    nxt = literal_column(f"coalesce((SELECT last FROM id_high_water WHERE name = '{table.name}'), 0) + 1",
                         BigInteger)
    return {ID_COLUMN[table.name]: nxt}


ID_COLUMN = {"service": "service_id", "service_state": "state_id", "service_task": "task_id"}
