"""What the first migrations share: creating and dropping a release's tables from the models."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Table


def create_tables(tables: Sequence[Table]) -> None:
    """Create the tables (with their indexes) in order, on the migration's connection."""
    bind = op.get_bind()
    for table in tables:
        table.create(bind)


def drop_tables(tables: Sequence[Table]) -> None:
    """Drop the tables in reverse order."""
    bind = op.get_bind()
    for table in reversed(tables):
        table.drop(bind)
