"""Services, states, tasks and their extensions.

Revision ID: 0003
Revises: 0002
"""

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from ucs_graphql.db.tables.base import Id64
from ucs_graphql.db.tables.base import metadata as models
from ucs_graphql.migrations.tables import create_tables, drop_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The tables as this release created them (frozen: migration 0006 changed their primary keys).
_frozen = MetaData(naming_convention=models.naming_convention)


def _item_columns() -> list[Column[Any]]:
    return [
        Column("est_duration", BigInteger, nullable=True),
        Column("started_at", BigInteger, nullable=False),
        Column("completed_at", BigInteger, nullable=True),
        Column("disposition", String(64), nullable=True),
        Column("disposition_desc", String(64), nullable=True),
        Column("started", Text, nullable=False),
        Column("completed", Text, nullable=True),
    ]


_service = Table(
    "service", _frozen,
    Column("service_id", Id64, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("contact_key", String(256), nullable=True),
    Column("service_type", String(64), nullable=False),
    *_item_columns(),
    sqlite_autoincrement=True,
)
_state = Table(
    "service_state", _frozen,
    Column("state_id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("service_id", BigInteger, nullable=False),
    Column("state_type", String(64), nullable=False),
    Column("previous_state_id", Integer, nullable=True),
    *_item_columns(),
    sqlite_autoincrement=True,
)
_task = Table(
    "service_task", _frozen,
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("service_id", BigInteger, nullable=False),
    Column("state_id", Integer, nullable=True),
    Column("task_type", String(64), nullable=False),
    *_item_columns(),
    sqlite_autoincrement=True,
)
Index("ix_service_customer", _service.c.tenant_id, _service.c.customer_id, _service.c.completed_at)
Index("ix_service_contact_key", _service.c.tenant_id, _service.c.contact_key, _service.c.completed_at)
Index("ix_service_state_service", _state.c.tenant_id, _state.c.service_id)
Index("ix_service_task_service", _task.c.tenant_id, _task.c.service_id)

TABLES = [_service, _state, _task]


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
