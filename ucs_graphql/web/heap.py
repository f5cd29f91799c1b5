"""The serving process's heap: settled once startup is done, and what its garbage collector costs.

A full (generation 2) collection walks every object the collector tracks. A started server holds about
135,000 (modules, the GraphQL schema and its compiled plans' machinery, SQLAlchemy's tables and statements),
and CPython starts a full collection each time a quarter as many objects again have survived two younger
collections: the objects of the requests in flight get there in a few seconds at thousands of requests a
second. Each full collection then held the event loop for 70-100 ms of CPU, and every request in flight, and
every one arriving meanwhile, waited for it: that was the tail of the by-id reads (p99 seven to nine times the
ceiling's, docs/benchmarks.md).

`settle()` collects once at the end of startup and freezes what is left (`gc.freeze`): those objects are
never walked again, and a full collection walks only what was made since, a millisecond or so. Nothing is
lost: frozen objects are freed as usual when their last reference goes (the garbage collector only finds
cycles, and the startup objects live as long as the process). Only served processes settle (`ucs-graphql
serve`); tests and tools that build many apps in one process do not.

`GcWatch` counts collections and their pauses per generation for /metrics (ucs_gc_*), the collection of
`settle()` aside (it runs before the server listens).
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

log = logging.getLogger("ucs")

GENERATIONS = (0, 1, 2)


def settle() -> int:
    """Collect the garbage of startup, then freeze every object left so that no later collection walks them
    again; returns how many objects are frozen."""
    watch = GcWatch.installed()
    watch.ignoring = True  # before any request: not a pause anyone waits for
    try:
        gc.collect()
    finally:
        watch.ignoring = False
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("startup heap settled: %d objects frozen out of garbage collection", frozen)
    return frozen


def walked_objects() -> int:
    """How many objects a full collection would walk now (the frozen ones are not)."""
    return len(gc.get_objects())


class GcWatch:
    """Collections and their pause per generation, counted by a gc callback (one per process)."""

    _installed: GcWatch | None = None

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0
        self.ignoring = False

    @classmethod
    def installed(cls) -> GcWatch:
        """The process's watch, installed on first use."""
        if cls._installed is None:
            cls._installed = cls()
            gc.callbacks.append(cls._installed._callback)
        return cls._installed

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self.ignoring:
            return
        generation = info["generation"]
        pause = time.perf_counter() - self._started
        self.collections[generation] += 1
        self.seconds[generation] += pause
        if pause > self.longest[generation]:
            self.longest[generation] = pause
