"""The per-request context every use case takes: runtime, tenant and caller."""

from __future__ import annotations

from dataclasses import dataclass

from ucs_graphql.config import Settings
from ucs_graphql.db.engine import Database
from ucs_graphql.kit.errors import ModeForbidden
from ucs_graphql.metadata.cache import TenantSchemas
from ucs_graphql.runtime import Runtime
from ucs_graphql.server.state import MAINTENANCE, PRODUCTION


@dataclass
class Ctx:
    """Who asks, for which tenant, on which runtime."""

    rt: Runtime
    tenant: int = 1
    user: str | None = None
    request_id: str | None = None

    @property
    def db(self) -> Database:
        return self.rt.db

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    async def schemas(self) -> TenantSchemas:
        """The tenant's schema metadata (cached; reloaded when another worker changed it)."""
        return await self.rt.schemas.get(self.rt.db, self.tenant)

    def require_production(self, operation: str) -> None:
        """Data operations (profiles, services, interactions) run in production mode only."""
        if self.rt.server.mode != PRODUCTION:
            raise ModeForbidden(
                f"{operation} is not available in maintenance mode: customer data is served in production "
                'mode only; switch with POST /server/mode {"mode":"production"}'
            )

    def require_maintenance(self, operation: str) -> None:
        """Schema changes that rebuild indexes, and bulk import, run in maintenance mode only."""
        if self.rt.server.mode != MAINTENANCE:
            raise ModeForbidden(
                f"{operation} is not available in production mode: it needs maintenance mode; switch with "
                'POST /server/mode {"mode":"maintenance"}, then back to production when done'
            )
