"""Customer profiles, extension records, identification index.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from ucs_graphql.db.tables import profiles

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [profiles.profile, profiles.ident_entry]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)

