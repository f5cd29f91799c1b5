"""Add event_outbox: on SQLite, each journey write's events for the other processes on the same file.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, String, Text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=True),
        Column("origin", String(64), nullable=False),
        Column("payload", Text, nullable=False),
        PrimaryKeyConstraint("id", name="pk_event_outbox"),
    )


def downgrade() -> None:
    op.drop_table("event_outbox")
