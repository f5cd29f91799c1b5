"""The per-request GraphQL context: the use-case Ctx, the HTTP request, fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from ucs_graphql.context import Ctx


@dataclass
class GqlContext:
    """Built once per GraphQL request; loaders are created on first use and never outlive it."""

    ctx: Ctx
    request: Any = None
    response: Any = None
    loaders: dict[str, Any] = field(default_factory=dict)
    # The graphql-transport-ws connection_init payload (set by Strawberry on WebSocket connections).
    connection_params: dict[str, Any] | None = None

    def loader(self, name: str, factory: Callable[[Ctx], Any]) -> Any:
        """The request's DataLoader called `name`, made by `factory` on first use."""
        got = self.loaders.get(name)
        if got is None:
            got = self.loaders[name] = factory(self.ctx)
        return got


Info = StrawberryInfo[GqlContext, None]
