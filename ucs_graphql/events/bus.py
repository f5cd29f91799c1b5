"""The event bus: journey events published once their write transaction commits, fanned out to subscribers.

With PostgreSQL the event is a NOTIFY sent inside the write transaction, which PostgreSQL delivers when (and
only if) the transaction commits, to every worker listening on its own dedicated asyncpg connection. With
SQLite the event is delivered within the process, after the commit: subscribers connected to another
worker process do not see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.db.fast import FastStatement
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import Unavailable

log = logging.getLogger("ucs.events")

CHANNEL = "ucs_events"
QUEUE_LIMIT = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    """Something that happened to a service, one of its states or tasks.

    `kind` is one of service_started, service_associated, service_completed, state_started,
    state_completed, state_transition, task_started, task_completed.
    """

    kind: str
    tenant: int
    service_id: int
    customer_id: str | None
    timestamp: str
    state_id: int | None = None
    task_id: int | None = None
    from_state_id: int | None = None

    def encode(self) -> str:
        """The NOTIFY payload."""
        # The fields are plain values: read them as they are (dataclasses.asdict copies each, 20 times slower).
        return jsonio.dumps_str({k: v for k, v in vars(self).items() if v is not None})

    @classmethod
    def decode(cls, payload: str) -> Event:
        """The event of a NOTIFY payload (`encode` leaves out every None, an anonymous service's customer too)."""
        return cls(**{"customer_id": None, **jsonio.loads(payload)})


class Subscription:
    """One subscriber's queue of matching events; it ends with Unavailable when the subscriber falls behind."""

    def __init__(self, tenant: int, customer_id: str | None, service_id: int | None) -> None:
        self.tenant = tenant
        self.customer_id = customer_id
        self.service_id = service_id
        self._items: deque[Event] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False

    def matches(self, event: Event) -> bool:
        """Same tenant, and the customer or service asked for (every event of the tenant when neither)."""
        if event.tenant != self.tenant:
            return False
        if self.service_id is not None and event.service_id != self.service_id:
            return False
        return self.customer_id is None or event.customer_id == self.customer_id

    def push(self, event: Event) -> None:
        """Queue an event (marks the subscription overflowed when the queue is full)."""
        if len(self._items) >= QUEUE_LIMIT:
            self.overflowed = True
        else:
            self._items.append(event)
        self._ready.set()

    async def next(self) -> Event:
        """The next event, waiting for one."""
        while not self._items:
            if self.overflowed:
                raise Unavailable("the subscriber fell behind and events were dropped; subscribe again")
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class EventBus:
    """Fan-out to this process's subscribers; subclasses decide how events reach every process."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    @property
    def subscribers(self) -> int:
        """How many subscriptions this process serves."""
        return len(self._subs)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, tenant: int, customer_id: str | None = None, service_id: int | None = None
    ) -> AsyncIterator[Subscription]:
        """A subscription that receives matching events while the block runs."""
        sub = Subscription(tenant, customer_id, service_id)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    def deliver(self, event: Event) -> None:
        """Hand an event to every matching subscriber of this process."""
        for sub in list(self._subs):
            if sub.matches(event):
                sub.push(event)

    async def stage(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Called inside the write transaction, before it commits."""

    def committed(self, events: Sequence[Event]) -> None:
        """Called after the write transaction committed."""

    async def start(self) -> None:
        """Connect whatever the bus needs."""

    async def stop(self) -> None:
        """Disconnect."""


class LocalBus(EventBus):
    """In-process delivery after commit (SQLite, or a single process)."""

    def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            self.deliver(event)


# Every journey write notifies: built once, run on the driver (ucs_graphql.db.fast).
_NOTIFY = FastStatement(select(func.pg_notify(bindparam("channel"), bindparam("payload"))))


class PgBus(EventBus):
    """NOTIFY inside the write transaction; every worker LISTENs on a dedicated asyncpg connection."""

    def __init__(self, dsn: str, reconnect_seconds: float = 1.0) -> None:
        super().__init__()
        self.dsn = dsn
        self.reconnect_seconds = reconnect_seconds
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._ready = asyncio.Event()

    async def stage(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        for event in events:
            await _NOTIFY.fetch(conn, {"channel": CHANNEL, "payload": event.encode()})

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.decode(payload)
        except Exception:  # a foreign payload on our channel must not stop the listener
            log.warning("ignored an event payload that is not ours")
            return
        self.deliver(event)

    async def _listen_once(self) -> None:
        """Listen on one connection until it is lost."""
        import asyncpg

        lost = asyncio.Event()
        conn = await asyncpg.connect(self.dsn)
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        self._ready.set()
        await lost.wait()

    async def _listen(self) -> None:
        import asyncpg

        while not self._closing:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("event listener connection failed: %s", type(err).__name__)
            self._conn = None
            if not self._closing:
                await asyncio.sleep(self.reconnect_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="ucs-event-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        self._closing = True
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def make_bus(database_url: str) -> EventBus:
    """The bus for a database: LISTEN/NOTIFY on PostgreSQL, in-process otherwise."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return PgBus("postgresql://" + database_url[len(prefix):])
    return LocalBus()


async def write_and_publish(
    bus: EventBus | None,
    write: Callable[[Callable[[AsyncConnection], Awaitable[tuple[T, list[Event]]]]],
                    Awaitable[tuple[T, list[Event]]]],
    work: Callable[[AsyncConnection], Awaitable[tuple[T, list[Event]]]],
) -> T:
    """Run `work` (which returns its result and its events) through `write`, publishing the events with it."""

    async def run(conn: AsyncConnection) -> tuple[T, list[Event]]:
        result, events = await work(conn)
        if bus is not None:
            await bus.stage(conn, events)
        return result, events

    result, events = await write(run)
    if bus is not None:
        bus.committed(events)
    return result
