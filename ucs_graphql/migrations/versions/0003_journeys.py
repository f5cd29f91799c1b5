"""Services, states, tasks and their extensions.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from ucs_graphql.db.tables import journeys

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [journeys.service, journeys.state, journeys.task]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)

