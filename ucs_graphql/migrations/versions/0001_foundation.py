"""Foundation: server state, workers, schema metadata, extension records.

Revision ID: 0001
Revises:
"""

from ucs_graphql.db.tables import extensions, metadata_schemas, server
from ucs_graphql.migrations.tables import create_tables, drop_tables

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
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
