"""How late the event loop runs a timer that asks to run every PERIOD_SECONDS: the wait every request in
flight has at that moment, whatever held the loop's thread (a long callback, a garbage collection, a hand-over
of the interpreter lock to another thread, or the machine giving the core to another process).

One timer per process, a few microseconds a tick: an operator's view of the event loop's stalls, /metrics
`ucs_event_loop_lag_seconds` (docs/operations.md). A tick sees a stall when it falls due during it, so a stall
of d seconds is counted with a chance of about d / PERIOD_SECONDS: the histogram samples the loop's lag at
regular moments, as a request arriving then would wait.
"""

from __future__ import annotations

import asyncio
import bisect
import time

PERIOD_SECONDS = 0.1
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class LoopLag:
    """Ticks of the event loop's timer and how late each ran, in BUCKETS (upper bounds, seconds)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last one: above every bucket
        self.total = 0.0
        self.longest = 0.0
        self._due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start ticking on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._schedule()

    def stop(self) -> None:
        """Stop ticking."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def observe(self, lag: float) -> None:
        """Count one tick that ran `lag` seconds late."""
        self.counts[bisect.bisect_left(BUCKETS, lag)] += 1
        self.total += lag
        if lag > self.longest:
            self.longest = lag

    def cumulative(self) -> list[tuple[str, int]]:
        """The Prometheus buckets: (upper bound, ticks at most that late), ending with +Inf."""
        out, running = [], 0
        for bound, count in zip([*map(str, BUCKETS), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = time.perf_counter() + PERIOD_SECONDS
        self._handle = self._loop.call_later(PERIOD_SECONDS, self._tick)

    def _tick(self) -> None:
        self.observe(max(0.0, time.perf_counter() - self._due))
        self._schedule()
