"""Lead the primary keys of services, states and tasks with tenant_id, so they can be distributed by tenant.

The ids stay what they were (unique across tenants, never reused). PostgreSQL keeps each table's sequence,
capped for services at 2^53 - 1 (exact in JavaScript); each table's primary key is rebuilt in place, which
holds an ACCESS EXCLUSIVE lock on it while the new index is built (docs/scale-out.md gives the time).
SQLite rebuilds the tables (batch mode) without AUTOINCREMENT, which needs the id alone as key: the highest
id each table ever had moves from sqlite_sequence to id_high_water, which a trigger per table keeps.

Revision ID: 0006
Revises: 0005
"""

import warnings

from alembic import op
from sqlalchemy import BigInteger, Column, String
from sqlalchemy.exc import SAWarning

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> its id column
TABLES = {"service": "service_id", "service_state": "state_id", "service_task": "task_id"}
MAX_SERVICE_ID = 2**53 - 1


def upgrade() -> None:
    op.create_table("id_high_water", Column("name", String(32), primary_key=True),
                    Column("last", BigInteger, nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
        return
    for table, id_col in TABLES.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
                   f"ADD CONSTRAINT pk_{table} PRIMARY KEY (tenant_id, {id_col})")
    op.execute(f"ALTER SEQUENCE service_service_id_seq MAXVALUE {MAX_SERVICE_ID}")


def _upgrade_sqlite() -> None:
    for table, id_col in TABLES.items():
        # sqlite_sequence holds the highest id ever given (also of rows deleted since).
        op.execute(f"INSERT INTO id_high_water (name, last) SELECT '{table}', max("
                   f"coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "
                   f"coalesce((SELECT max({id_col}) FROM {table}), 0))")
        # SQLAlchemy warns that the copy's key differs from the reflected one: that is the change.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}) as batch:
                batch.create_primary_key(f"pk_{table}", ["tenant_id", id_col])
        op.execute(_trigger(table, id_col))


def _trigger(table: str, id_col: str) -> str:
    return (f"CREATE TRIGGER {table}_id_high_water AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO id_high_water (name, last) VALUES ('{table}', NEW.{id_col}) "
            f"ON CONFLICT (name) DO UPDATE SET last = excluded.last WHERE excluded.last > id_high_water.last; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, id_col in TABLES.items():
            op.execute(f"DROP TRIGGER {table}_id_high_water")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SAWarning)
                with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}) as b:
                    b.drop_constraint(f"pk_{table}", type_="primary")
                    b.create_primary_key(f"pk_{table}", [id_col])
            op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")
            op.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT name, last FROM id_high_water "
                       f"WHERE name = '{table}'")
    else:
        for table, id_col in TABLES.items():
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
                       f"ADD CONSTRAINT pk_{table} PRIMARY KEY ({id_col})")
    op.drop_table("id_high_water")
