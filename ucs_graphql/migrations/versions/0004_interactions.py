"""Interactions and bulk import.

Revision ID: 0004
Revises: 0003
"""

from ucs_graphql.db.tables import interactions
from ucs_graphql.migrations.tables import create_tables, drop_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [interactions.interaction, interactions.interaction_content]


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)

