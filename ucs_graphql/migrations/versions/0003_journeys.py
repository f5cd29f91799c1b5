"""Services, states, tasks and their extensions.

Revision ID: 0003
Revises: 0002
"""

from ucs_graphql.db.tables import journeys
from ucs_graphql.migrations.tables import create_tables, drop_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [journeys.service, journeys.state, journeys.task]


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)

