"""The access gate both front doors share: who calls (401; 429 after too many wrong credentials), for which
tenant (403), how often (503), and whether the caller holds the operation's task (403)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ucs_graphql.access.credentials import Authenticator
from ucs_graphql.access.directory import Directory, Principal, build_directory
from ucs_graphql.access.ratelimit import LoginThrottle, RateLimiter
from ucs_graphql.config import Settings
from ucs_graphql.kit.errors import Forbidden, TenantForbidden, Unauthenticated, Unavailable

log = logging.getLogger("ucs.auth")

WWW_AUTHENTICATE = 'Basic realm="ucs", Bearer'
# To a page's own scripted requests: no Basic challenge, which would open the browser's password prompt.
PAGE_CHALLENGE = 'Bearer realm="ucs"'


def challenge(requested_with: str | None) -> str:
    """The WWW-Authenticate value of a 401: Basic and Bearer, except to requests carrying X-Requested-With
    (GraphiQL's and other pages' own fetches, which sign in on the page), answered without Basic."""
    return PAGE_CHALLENGE if requested_with else WWW_AUTHENTICATE


class Operation(Protocol):
    """What the gate reads of a REST route-table row."""

    task: str
    method: str
    path: str


def principal_of(request: Any) -> Principal | None:
    """The caller the front door admitted for this request (None when the server runs open)."""
    scope = getattr(request, "scope", None) or {}
    principal = scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else None


class Gate:
    """Admits requests at the front door and checks tasks per operation."""

    def __init__(self, settings: Settings, directory: Directory) -> None:
        self.directory = directory
        self.authenticator = Authenticator(
            directory, throttle=LoginThrottle(settings.login_failures_burst, settings.login_failures_per_minute))
        per_minute = settings.rate_limit_per_minute
        self.limiter = RateLimiter(per_minute) if per_minute > 0 else None

    @property
    def open(self) -> bool:
        """True when no user is configured and requests need no credentials."""
        return self.directory.open

    async def admit(self, authorization: str | None, tenant: int, client: str) -> Principal | None:
        """The caller of a request before any body is read: 401, 403 (tenant) or 503 (rate) when refused."""
        principal: Principal | None = None
        if not self.open:
            principal = await self.authenticator.authenticate(authorization, client)
            if not principal.may_use(tenant):
                # The user's own tenants, so that a front-end can offer them (the user is authenticated).
                tenants = sorted(principal.tenants or ())
                raise TenantForbidden(f"user '{principal.name}' may not use tenant {tenant} (X-Genesys-TenantId); "
                                      f"their tenants: {', '.join(map(str, tenants))}", tenants)
        self.count(principal, client)
        return principal

    def count(self, principal: Principal | None, client: str) -> None:
        """Count one request (or one WebSocket operation) against the rate limit; 503 when over it."""
        if self.limiter is None:
            return
        key = f"user:{principal.name}" if principal is not None else f"client:{client}"
        wait = self.limiter.take(key)
        if wait:
            who = f"user '{principal.name}'" if principal is not None else f"client {client}"
            raise Unavailable(f"too many requests from {who}: the limit is "
                              f"{int(self.limiter.capacity)} per minute; retry in {wait} s", retry_after=wait)

    def require(self, request: Any, task: str, what: str) -> None:
        """Raise unless the admitted caller holds `task` (Unauthenticated when nobody was admitted)."""
        principal = principal_of(request)
        if principal is None:
            raise Unauthenticated("credentials are missing: send HTTP Basic credentials or 'Authorization: Bearer "
                                  "<token>'")
        if task not in principal.tasks:
            raise Forbidden(f"user '{principal.name}' is not allowed to {what}: it needs the task '{task}'")

    async def authorize_route(self, request: Any, op: Operation, ctx: Any) -> None:
        """The REST door's check: the route table's task for this operation."""
        self.require(request, op.task, f"{op.method} {op.path}")

    async def authorize_task(self, ctx: Any, request: Any, task: str) -> None:
        """The GraphQL door's check: the task a root field declares."""
        self.require(request, task, "run this GraphQL field")


def install(parts: dict[str, Any], settings: Settings) -> Gate:
    """Build the gate from the settings and register it (and the task checks when users exist) in `parts`."""
    gate = Gate(settings, build_directory(settings.roles, settings.users, settings.tokens))
    parts["gate"] = gate
    if not gate.open:
        parts["authorize_route"] = gate.authorize_route
        parts["authorize_task"] = gate.authorize_task
    for where in gate.directory.weak_hashes:
        log.warning("%s: the configured hash is cheaper than `ucs-graphql hash-password` writes; regenerate it",
                    where)
    return gate
