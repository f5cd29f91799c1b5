"""A pulse that wakes the tasks of a process when the shared server state may have changed."""

from __future__ import annotations

import asyncio
import contextlib


class Pulse:
    """A count of changes seen; `fire` wakes every task waiting on it.

    A waiter passes the count it last acted on, so a change fired between its last read and its wait is
    never missed.
    """

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Something may have changed: wake every waiter."""
        self.count += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, seconds: float | None = None) -> int:
        """Wait until the count is no longer `seen` or `seconds` passed (None: no limit); the count then."""
        if self.count == seen:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._event.wait()
        return self.count
