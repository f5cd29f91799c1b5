"""Foundation: server state, workers, schema metadata, extension records.

Revision ID: 0001
Revises:
"""

from alembic import op

from ucs_graphql.db.tables import extensions, metadata_schemas, server

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# First releases create their tables from the models; later changes are written as frozen ops.
TABLES = [
    server.server_state,
    server.server_worker,
    metadata_schemas.profile_attribute,
    metadata_schemas.extension_schema,
    metadata_schemas.identification_key,
    extensions.extension_record,
    extensions.extension_unique,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
