"""Per-caller limits: a token bucket per key, refilled continuously.

`RateLimiter` counts requests: a caller may spend a minute's allowance at once, then one request every 60/N
seconds. `LoginThrottle` counts wrong credentials the same way, per user name and client address and per
address. Buckets are process-local: with several workers each one counts its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """Admits at most `per_minute` requests per key and minute, in bursts of up to `burst` (default: the same
    number)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000,
                 burst: int | None = None) -> None:
        self.capacity = float(per_minute if burst is None else burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> int:
        """0 when the request is admitted (and counted), else the whole seconds to wait before retrying."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:
                self._forget_idle(now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def refund(self, key: str) -> None:
        """Give back what `take` counted for `key`."""
        found = self._buckets.get(key)
        if found is not None:
            self._buckets[key] = (min(self.capacity, found[0] + 1.0), found[1])

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (their callers are idle); they would start full anyway."""
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]


class LoginThrottle:
    """Wrong credentials allowed per user name and client address (`burst`, then `per_minute`), and four times
    as many per address whatever the name.

    A check reserves one failure before the slow hash runs and a verified credential gives it back, so
    concurrent guesses cannot overtake the count, and credentials that verify never use the allowance up.
    """

    ADDRESS_FACTOR = 4

    def __init__(self, burst: int, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.pairs = RateLimiter(per_minute, clock, burst=burst)
        self.addresses = RateLimiter(per_minute * self.ADDRESS_FACTOR, clock, burst=burst * self.ADDRESS_FACTOR)

    def reserve(self, name: str, address: str) -> int:
        """0 when one more check of a credential for `name` from `address` may run (counted as a failure until
        `verified`), else the whole seconds to wait."""
        pair = f"{address}\x00{name}"
        wait = self.pairs.take(pair)
        if wait:
            return wait
        wait = self.addresses.take(address)
        if wait:
            self.pairs.refund(pair)
        return wait

    def verified(self, name: str, address: str) -> None:
        """The reserved check succeeded: it was not a failure."""
        self.pairs.refund(f"{address}\x00{name}")
        self.addresses.refund(address)
