"""A least-recently-used cache bounded by the estimated bytes of what it holds, not by its number of entries."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedCache(Generic[K, V]):
    """Entries with a weight (their estimated bytes); putting one drops the least recently used entries
    until the weights add up to at most `budget`. An entry heavier than the budget is not kept."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.weight = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value under `key` (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, weight: int) -> None:
        """Keep `value` under `key` with this weight (replacing what was there)."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.weight -= old[1]
        if weight > self.budget:
            return
        while self._entries and self.weight + weight > self.budget:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.weight -= dropped
        self._entries[key] = (value, weight)
        self.weight += weight
