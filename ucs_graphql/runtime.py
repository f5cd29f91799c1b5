"""The application's long-lived parts, built once at start and handed to every use case through Ctx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ucs_graphql.config import Settings
from ucs_graphql.db.engine import Database
from ucs_graphql.metadata.cache import SchemaCache
from ucs_graphql.server.state import ServerState


@dataclass
class Runtime:
    """Settings, the database, process state and caches of one serving process."""

    settings: Settings
    db: Database
    server: ServerState = field(default_factory=ServerState)
    schemas: SchemaCache = field(init=False)
    # Per-context services that need a process-wide instance (event bus, cipher...), by name.
    parts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.schemas = SchemaCache(self.settings)
