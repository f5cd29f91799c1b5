"""The per-request GraphQL context: the use-case Ctx, the HTTP request, fresh DataLoaders."""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import Batch, DataLoader, DefaultCache, dispatch_batch, should_create_new_batch
from strawberry.types import Info as StrawberryInfo

from ucs_graphql.context import Ctx

K = TypeVar("K")
T = TypeVar("T")


class _Keys(DefaultCache[K, T]):
    """The loader's cache by the keys themselves (DefaultCache calls an identity function per look-up)."""

    def get(self, key: K) -> Future[T] | None:
        return self.cache_map.get(key)

    def set(self, key: K, value: Future[T]) -> None:
        self.cache_map[key] = value


class Loader(DataLoader[K, T]):
    """A Strawberry DataLoader. A prompt one starts each batch's read on the event loop's next turn, where
    Strawberry's waits one turn more (to collect keys loaded by work that starts on the next turn): the same
    batches whenever every key of a batch is loaded within one turn, as in a request that never runs two
    resolvers at once. Made in a running event loop, it takes that loop (Strawberry's asks for it by
    get_event_loop on first use, a slower call) and caches by its keys themselves."""

    prompt = False

    def __init__(self, load_fn: Callable[[list[K]], Awaitable[Any]], **kwargs: Any) -> None:
        if "loop" not in kwargs:
            try:
                kwargs["loop"] = asyncio.get_running_loop()
            except RuntimeError:
                pass
        if kwargs.get("cache", True) and "cache_map" not in kwargs and "cache_key_fn" not in kwargs:
            kwargs["cache_map"] = _Keys()
        super().__init__(load_fn, **kwargs)

    def load(self, key: K) -> Awaitable[T]:
        if not self.prompt:
            return super().load(key)
        if self.cache:
            future = self.cache_map.get(key)
            if future and not future.cancelled():
                return future
        future = self.loop.create_future()
        if self.cache:
            self.cache_map.set(key, future)
        batch = self.batch
        if batch is None or not batch.tasks or should_create_new_batch(self, batch):
            batch = self.batch = Batch()
            # Kept when done too (Strawberry clears it): Batch only cancels a dispatch task not yet done.
            batch._dispatch_task = asyncio.create_task(dispatch_batch(self, batch))
        batch.add_task(key, future)
        return future


@dataclass
class GqlContext:
    """Built once per GraphQL request; loaders are created on first use and never outlive it."""

    ctx: Ctx
    request: Any = None
    response: Any = None
    loaders: dict[str, Any] = field(default_factory=dict)
    # The graphql-transport-ws connection_init payload (set by Strawberry on WebSocket connections).
    connection_params: dict[str, Any] | None = None
    # Whether its loaders are prompt (see Loader): set for requests that never run two resolvers at once.
    prompt_loaders: bool = False

    def loader(self, name: str, factory: Callable[[Ctx], Any]) -> Any:
        """The request's DataLoader called `name`, made by `factory` on first use."""
        got = self.loaders.get(name)
        if got is None:
            got = self.loaders[name] = factory(self.ctx)
            if self.prompt_loaders and isinstance(got, Loader):
                got.prompt = True
        return got


Info = StrawberryInfo[GqlContext, None]
