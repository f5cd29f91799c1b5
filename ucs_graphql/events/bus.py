"""The event bus: journey events published once their write transaction commits, fanned out to subscribers,
and the signal that the shared server state (mode, schema generation, workers' acknowledgements) changed.

With PostgreSQL the event is a NOTIFY sent inside the write transaction, which PostgreSQL delivers when (and
only if) the transaction commits, to every worker listening on its own dedicated asyncpg connection; a write
to the server state sends a NOTIFY on a second channel. With SQLite, see ucs_graphql.events.sqlite. An
engine that refuses LISTEN (CockroachDB, YugabyteDB), or `db_notify = false`, delivers events within the
writing process only and signals a state change every `mode_poll_seconds`, for the watcher to read again.
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

from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.db.fast import FastStatement
from ucs_graphql.events.changes import Pulse
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import Unavailable

log = logging.getLogger("ucs.events")

CHANNEL = "ucs_events"
STATE_CHANNEL = "ucs_state"
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
        """The event of a NOTIFY payload."""
        return cls.of(jsonio.loads(payload))

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Event:
        """The event of a decoded payload (`encode` leaves out every None, an anonymous service's customer too)."""
        return cls(**{"customer_id": None, **fields})


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

    def wake(self) -> None:
        """Wake the subscriber's reader (to see it overflowed)."""
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
    """Fan-out to this process's subscribers; subclasses decide how events reach every process.

    `changes` fires when another process may have changed the server state; without a signal from the
    engine it fires every `poll_seconds`. `reaction_seconds` is how long a change can take to be noticed.
    """

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self._subs: set[Subscription] = set()
        self.poll_seconds = poll_seconds
        self.changes = Pulse()
        # Whether a change is expected soon (a mode switch runs): a bus that checks for changes checks more often.
        self.hurry: Callable[[], bool] = lambda: False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def reaction_seconds(self) -> float:
        """The longest time between a change committed elsewhere and `changes` firing here."""
        return self.poll_seconds

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

    def drop_subscribers(self) -> None:
        """Events were lost: every subscription of this process ends as a subscriber that fell behind."""
        for sub in list(self._subs):
            sub.overflowed = True
            sub.wake()

    def deliver(self, event: Event) -> None:
        """Hand an event to every matching subscriber of this process."""
        for sub in list(self._subs):
            if sub.matches(event):
                sub.push(event)

    async def stage(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Called inside the write transaction, before it commits."""

    def committed(self, events: Sequence[Event]) -> None:
        """Called after the write transaction committed."""

    async def signal(self, conn: AsyncConnection) -> None:
        """Called inside a write transaction that changed the server state, for other processes to notice."""

    async def start(self) -> None:
        """Connect whatever the bus needs."""
        self._run(self._poll(), "ucs-state-poll")

    async def stop(self) -> None:
        """Disconnect."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _run(self, work: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(work))
        self._tasks[-1].set_name(name)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            self.changes.fire()


class LocalBus(EventBus):
    """In-process delivery after commit; the server state is read again every `poll_seconds`."""

    def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            self.deliver(event)


# Every journey write notifies: built once, run on the driver (ucs_graphql.db.fast).
_NOTIFY = FastStatement(select(func.pg_notify(bindparam("channel"), bindparam("payload"))))


class PgBus(EventBus):
    """NOTIFY inside the write transaction; every worker LISTENs on a dedicated asyncpg connection, named
    `application_name` for the operators' views."""

    def __init__(self, dsn: str, poll_seconds: float = 1.0, reconnect_seconds: float = 1.0,
                 application_name: str = "ucs-graphql") -> None:
        super().__init__(poll_seconds)
        self.dsn = dsn
        self.reconnect_seconds = reconnect_seconds
        self.application_name = application_name[:63]
        # False once the server refused LISTEN: events stay in this process, the state is polled.
        self.notify = True
        self._conn: Any = None
        self._closing = False
        self._ready = asyncio.Event()

    @property
    def reaction_seconds(self) -> float:
        return 0.0 if self.notify and self._conn is not None else self.poll_seconds

    async def stage(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if self.notify:
            for event in events:
                await _NOTIFY.fetch(conn, {"channel": CHANNEL, "payload": event.encode()})

    def committed(self, events: Sequence[Event]) -> None:
        if not self.notify:
            for event in events:
                self.deliver(event)

    async def signal(self, conn: AsyncConnection) -> None:
        if self.notify:
            await _NOTIFY.fetch(conn, {"channel": STATE_CHANNEL, "payload": ""})

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.decode(payload)
        except Exception:  # a foreign payload on our channel must not stop the listener
            log.warning("ignored an event payload that is not ours")
            return
        self.deliver(event)

    def _on_state(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.changes.fire()

    async def _listen_once(self) -> None:
        """Listen on one connection until it is lost."""
        import asyncpg

        lost = asyncio.Event()
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": self.application_name})
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            await conn.add_listener(STATE_CHANNEL, self._on_state)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn = conn
        self._ready.set()
        # Whatever changed while this process was not listening is read again now.
        self.changes.fire()
        await lost.wait()

    async def _listen(self) -> None:
        import asyncpg

        while not self._closing:
            try:
                await self._listen_once()
            except asyncpg.FeatureNotSupportedError:
                log.warning("the database does not support LISTEN: live events stay in the process that wrote "
                            "them, and the server state is read every %s s", self.poll_seconds)
                self.notify = False
                self._ready.set()
                await self._poll()
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("event listener connection failed: %s", type(err).__name__)
            self._conn = None
            if not self._closing:
                # Until listening again, the watcher reads the state at each attempt.
                self.changes.fire()
                await asyncio.sleep(self.reconnect_seconds)

    async def start(self) -> None:
        self._run(self._listen(), "ucs-event-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        self._closing = True
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        await super().stop()


def make_bus(database_url: str, *, notify: bool = True, poll_seconds: float = 1.0, origin: str = "") -> EventBus:
    """The bus for a database: LISTEN/NOTIFY on PostgreSQL (unless `notify` is off), the outbox watched through
    `PRAGMA data_version` on SQLite, in-process delivery and polling otherwise. `origin` names this process."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            if not notify:
                return LocalBus(poll_seconds)
            return PgBus("postgresql://" + database_url[len(prefix):], poll_seconds,
                         application_name=f"ucs-graphql {origin}".strip())
    path = sqlite_path(database_url)
    if path is None or str(path) in ("", ":memory:"):
        return LocalBus(poll_seconds)
    from ucs_graphql.events.sqlite import SqliteBus

    return SqliteBus(database_url, poll_seconds, origin=origin)


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
