"""Tables of the journeys context (defined with that context's migration)."""

from __future__ import annotations

from ucs_graphql.db.tables.base import metadata

__all__ = ["metadata"]
