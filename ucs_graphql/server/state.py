"""Process-local server state: start time, counters, mode as last applied, in-flight requests."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ucs_graphql.kit.timefmt import from_millis, now_utc

PRODUCTION = "production"
MAINTENANCE = "maintenance"
MODES = (PRODUCTION, MAINTENANCE)


def _next_midnight(seconds: float) -> float:
    """The next midnight UTC after `seconds` since the epoch, in seconds since the epoch."""
    return (seconds // 86400 + 1) * 86400


@dataclass
class ServerState:
    """What /server/status reports for this process, and the mode gate every request passes."""

    started: datetime = field(default_factory=now_utc)
    # The last request's end, in milliseconds since the epoch (0: none yet), and the end of the day the
    # counters count (UTC), in seconds: a request costs a clock read, not a datetime.
    last_request_ms: int = 0
    day_ends: float = field(default_factory=lambda: _next_midnight(time.time()))
    request_today: int = 0
    client_errors_today: int = 0
    server_errors_today: int = 0
    mode: str = PRODUCTION
    switching: bool = False
    generation: int = 0
    schema_generation: int = 0
    inflight: int = 0
    # What this process last wrote to server_worker: the generation acknowledged, its requests in flight then.
    acked_generation: int = -1
    acked_inflight: int = 0
    # A switch requested of this process is running (its own request is not counted as in flight).
    switch_here: bool = False
    # Waits of this process for the other workers' acknowledgements.
    awaiting: int = 0
    # A switch under way that stores no start time (an older version began it), and when this process first saw
    # it (monotonic): it counts as abandoned from then (ucs_graphql.server.service).
    keyless_switch_seen: tuple[str, float] | None = None
    worker_id: str = field(default_factory=lambda: f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def busy(self) -> int:
        """Requests in flight, a mode switch requested of this process aside."""
        return max(self.inflight - (1 if self.switch_here else 0), 0)

    @property
    def last_request(self) -> datetime | None:
        """When the last request ended (to the millisecond), None before the first."""
        return from_millis(self.last_request_ms) if self.last_request_ms else None

    def count(self, status: int) -> None:
        """Count one finished request in today's counters (reset at midnight UTC and at restart)."""
        now = time.time()
        if now >= self.day_ends:
            self.day_ends = _next_midnight(now)
            self.request_today = self.client_errors_today = self.server_errors_today = 0
        self.request_today += 1
        self.last_request_ms = int(now * 1000)
        if 400 <= status < 500:
            self.client_errors_today += 1
        elif status >= 500:
            self.server_errors_today += 1

    def enter(self) -> None:
        """A request starts (counted in-flight for mode switches)."""
        self.inflight += 1
        self.idle.clear()

    def leave(self) -> None:
        """A request ends."""
        self.inflight -= 1
        if self.inflight <= 0:
            self.inflight = 0
            self.idle.set()
