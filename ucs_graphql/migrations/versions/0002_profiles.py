"""Customer profiles, extension records, identification index.

Revision ID: 0002
Revises: 0001
"""

from ucs_graphql.db.tables import profiles
from ucs_graphql.migrations.tables import create_tables, drop_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [profiles.profile, profiles.ident_entry]


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)

