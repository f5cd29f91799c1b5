"""Every table, on one MetaData. Each context keeps its tables in a module of its own here."""

from ucs_graphql.db.tables import extensions, interactions, journeys, metadata_schemas, profiles, server
from ucs_graphql.db.tables.base import metadata

__all__ = ["extensions", "interactions", "journeys", "metadata", "metadata_schemas", "profiles", "server"]
