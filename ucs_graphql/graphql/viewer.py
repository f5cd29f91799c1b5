"""GraphQL: `viewer`, the caller (ucs_graphql.access.viewer), open to any signed-in caller."""

from __future__ import annotations

import strawberry

from ucs_graphql.access.gate import principal_of
from ucs_graphql.access.viewer import viewer_of
from ucs_graphql.graphql.context import Info
from ucs_graphql.graphql.permissions import signed_in


@strawberry.type(description="The caller of the request, for a front-end to shape itself to the role.")
class Viewer:
    name: str | None = strawberry.field(description="The user's name; null when access control is off "
                                                    "(an anonymous caller, who holds every task).")
    tasks: list[str] = strawberry.field(description="The access tasks the user's enabled roles grant, sorted "
                                                    "(every task when access control is off).")
    tenants: list[int] | None = strawberry.field(description="The tenants the user may use, sorted; null when "
                                                             "the user may use every tenant.")
    tenant: int = strawberry.field(description="The tenant of this request (X-Genesys-TenantId, or the "
                                               "WebSocket's connection_init).")
    anonymous: bool = strawberry.field(description="True when access control is off: no credentials are "
                                                   "checked.")


@strawberry.type
class ViewerQuery:
    @strawberry.field(extensions=signed_in(), description="Who calls: name, tasks and tenants (any signed-in "
                                                          "caller; needs no task).")
    def viewer(self, info: Info) -> Viewer:
        found = viewer_of(principal_of(info.context.request), info.context.ctx.tenant)
        return Viewer(name=found.name, tasks=list(found.tasks),
                      tenants=None if found.tenants is None else list(found.tenants), tenant=found.tenant,
                      anonymous=found.name is None)
