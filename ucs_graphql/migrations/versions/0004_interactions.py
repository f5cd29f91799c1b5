"""Interactions and bulk import.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from ucs_graphql.db.tables import interactions

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [interactions.interaction, interactions.interaction_content]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)

