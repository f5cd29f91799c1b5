"""Who calls, as a front-end shapes itself to the role: the user, the tasks their roles grant, the tenants
they may use and the one this request uses."""

from __future__ import annotations

from dataclasses import dataclass

from ucs_graphql.access.directory import Principal
from ucs_graphql.access.tasks import ALL_TASKS


@dataclass(frozen=True)
class Viewer:
    """The caller of one request: `name` None when access control is off (anonymous, holding every task
    in every tenant); `tenants` None when not bound to tenants."""

    name: str | None
    tasks: tuple[str, ...]
    tenants: tuple[int, ...] | None
    tenant: int


def viewer_of(principal: Principal | None, tenant: int) -> Viewer:
    """The viewer of a request admitted with `principal` (None: the server runs open) for `tenant`."""
    if principal is None:
        return Viewer(name=None, tasks=tuple(sorted(ALL_TASKS)), tenants=None, tenant=tenant)
    tenants = None if principal.tenants is None else tuple(sorted(principal.tenants))
    return Viewer(name=principal.name, tasks=tuple(sorted(principal.tasks)), tenants=tenants, tenant=tenant)
