"""Drop the index of extension records by extension name.

Only dropping an extension schema read by it, and every record written paid for it (a bulk import writes
one record or more per row). Databases created by the models since carry no such index, hence IF EXISTS.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_extension_record_ext", table_name="extension_record", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_extension_record_ext", "extension_record", ["tenant_id", "level", "ext"])
