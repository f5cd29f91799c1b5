"""The event bus: journey events published once their write transaction commits, fanned out to subscribers,
and the signal that the shared server state (mode, schema generation, workers' acknowledgements) changed.

With PostgreSQL the events of a write are sent as NOTIFYs once it has committed, by the process's notifier:
on a connection of its own, every event committed while its previous batch was being sent goes out in one
notifying transaction (PostgreSQL commits notifying transactions one at a time, so a NOTIFY inside each
write would make the writes commit one at a time too). The write answers once its events are sent. Every
worker listens on its own dedicated asyncpg connection. A write to the server state sends a NOTIFY on a
second channel inside its own transaction. With SQLite, see ucs_graphql.events.sqlite. An engine that
refuses LISTEN (CockroachDB, YugabyteDB), or `db_notify = false`, delivers events within the writing
process only and signals a state change every `mode_poll_seconds`, for the watcher to read again.
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

    async def committed(self, events: Sequence[Event]) -> None:
        """Called after the write transaction committed, before the write answers."""

    async def signal(self, conn: AsyncConnection) -> None:
        """Called inside a write transaction that changed the server state, for other processes to notice."""

    async def before_register(self) -> None:
        """Called before this worker inserts its row in server_worker: show the other processes it is alive."""

    async def after_unregister(self, left: bool) -> None:
        """Called when this worker stops, after it deleted its row in server_worker (`left`) or failed to."""

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

    async def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            self.deliver(event)


# The server state's signal, sent inside the transaction that changes it: built once, run on the driver.
_NOTIFY = FastStatement(select(func.pg_notify(bindparam("channel"), bindparam("payload"))))
# A batch of events: one pg_notify per payload, in order, in one transaction.
NOTIFY_BATCH = "SELECT pg_notify($1, p) FROM unnest(CAST($2 AS text[])) AS p"


class _Batch:
    """Payloads sent together, and the writes waiting for them."""

    __slots__ = ("payloads", "seen", "waiters")

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.seen: set[str] = set()
        self.waiters: list[asyncio.Future[None]] = []


class Notifier:
    """Sends committed events as NOTIFYs on a connection of its own, in batches: while one batch is being sent,
    the events of the writes that commit meanwhile gather into the next. PostgreSQL commits notifying
    transactions one at a time (it locks its notification queue through the commit), so one notifying
    transaction per batch, instead of a NOTIFY inside each write, leaves the writes to commit together.

    Payloads go out in the order they were handed over. A payload is never put twice into one batch
    (PostgreSQL would deliver it once): a repeat goes into the next. When a batch cannot be sent (the
    connection is lost, the database is down) its events are lost, logged, and counted in `lost`; the
    writes still answer, since they committed. `sent` counts payloads sent, `batches` the transactions.
    """

    MAX_BATCH = 1000

    def __init__(self, dsn: str, channel: str, application_name: str, timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.channel = channel
        self.application_name = application_name[:63]
        self.timeout = timeout
        self.sent = 0
        self.batches = 0
        self.lost = 0
        self._queue: deque[_Batch] = deque()
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None

    async def send(self, payloads: Sequence[str]) -> None:
        """Queue the payloads and wait until they are sent (or lost)."""
        queue = self._queue
        batch = queue[-1] if queue else None
        for payload in payloads:
            if batch is None or payload in batch.seen or len(batch.payloads) >= self.MAX_BATCH:
                batch = _Batch()
                queue.append(batch)
            batch.payloads.append(payload)
            batch.seen.add(payload)
        if batch is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.waiters.append(done)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        await done

    async def _run(self) -> None:
        queue = self._queue
        try:
            while queue:
                batch = queue.popleft()  # the writes that commit from now on gather into the next one
                try:
                    await self._send(batch.payloads)
                    self.sent += len(batch.payloads)
                    self.batches += 1
                except Exception as err:  # the writes committed: they answer, their events are lost
                    self.lost += len(batch.payloads)
                    log.warning("%d events committed but not sent: %s", len(batch.payloads), type(err).__name__)
                    await self._close()
                for waiter in batch.waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._task = None

    async def _send(self, payloads: list[str]) -> None:
        if self._conn is None or self._conn.is_closed():
            import asyncpg

            # A NOTIFY is never kept across a crash of the database (listeners lose their connections), so its
            # transaction need not wait for the log to reach the disk: its commit takes microseconds, not a
            # flush, and the writes waiting for it answer that much sooner.
            self._conn = await asyncpg.connect(
                self.dsn, timeout=self.timeout, command_timeout=self.timeout,
                server_settings={"application_name": self.application_name, "synchronous_commit": "off"})
        await self._conn.execute(NOTIFY_BATCH, self.channel, payloads)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def stop(self) -> None:
        """Send what is queued (within the timeout), then close the connection."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=self.timeout)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), timeout=self.timeout)
            await self._close()


class PgBus(EventBus):
    """NOTIFYs sent after commit by the process's Notifier; every worker LISTENs on a dedicated asyncpg
    connection, named `application_name` for the operators' views (the notifier's is named `... notify`): to
    the server state always, to events while it has subscribers."""

    def __init__(self, dsn: str, poll_seconds: float = 1.0, reconnect_seconds: float = 1.0,
                 application_name: str = "ucs-graphql", timeout: float = 5.0) -> None:
        super().__init__(poll_seconds)
        self.dsn = dsn
        self.reconnect_seconds = reconnect_seconds
        self.application_name = application_name[:63]
        self.notifier = Notifier(dsn, CHANNEL, f"{application_name[:56]} notify", timeout)
        # False once the server refused LISTEN: events stay in this process, the state is polled.
        self.notify = True
        self.received = 0  # event notifications this process received
        self._conn: Any = None
        self._closing = False
        self._ready = asyncio.Event()
        # Events are listened to only while this process has subscribers (the server state always).
        self._events_heard = False
        self._hearing = asyncio.Lock()
        self._follower: asyncio.Future[None] | None = None

    @property
    def reaction_seconds(self) -> float:
        return 0.0 if self.notify and self._conn is not None else self.poll_seconds

    async def committed(self, events: Sequence[Event]) -> None:
        if not self.notify:
            for event in events:
                self.deliver(event)
        elif events:
            await self.notifier.send([event.encode() for event in events])

    async def signal(self, conn: AsyncConnection) -> None:
        if self.notify:
            await _NOTIFY.fetch(conn, {"channel": STATE_CHANNEL, "payload": ""})

    @contextlib.asynccontextmanager
    async def subscribe(
        self, tenant: int, customer_id: str | None = None, service_id: int | None = None
    ) -> AsyncIterator[Subscription]:
        """A subscription that receives matching events while the block runs; the first one of the process
        has it LISTEN to events (before the block starts), the end of the last one UNLISTEN."""
        sub = Subscription(tenant, customer_id, service_id)
        self._subs.add(sub)
        try:
            await self._hear_events()
            yield sub
        finally:
            self._subs.discard(sub)
            if not self._subs and (self._follower is None or self._follower.done()):
                self._follower = asyncio.ensure_future(self._hear_events())

    async def _hear_events(self) -> None:
        """LISTEN to the events channel while this process has subscribers, UNLISTEN once it has none: a worker
        without subscribers is sent no event notification to read."""
        async with self._hearing:
            while True:  # until it matches: subscribers may come and go while it is sent
                conn, want = self._conn, bool(self._subs)
                if conn is None or conn.is_closed() or want == self._events_heard:
                    return
                if want:
                    await conn.add_listener(CHANNEL, self._on_notify)
                else:
                    with contextlib.suppress(Exception):  # a lost connection listens to nothing anyway
                        await conn.remove_listener(CHANNEL, self._on_notify)
                self._events_heard = want

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.received += 1
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
        self._events_heard = False
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": self.application_name})
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(STATE_CHANNEL, self._on_state)
            self._conn = conn
            await self._hear_events()
        except BaseException:
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.close()
            raise
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
        await self.notifier.stop()
        if self._follower is not None:
            with contextlib.suppress(Exception):
                await self._follower
        self._closing = True
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        await super().stop()


def make_bus(database_url: str, *, notify: bool = True, poll_seconds: float = 1.0, origin: str = "",
             timeout: float = 5.0) -> EventBus:
    """The bus for a database: LISTEN/NOTIFY on PostgreSQL (unless `notify` is off), the outbox watched through
    `PRAGMA data_version` on SQLite, in-process delivery and polling otherwise. `origin` names this process;
    `timeout` bounds the notifier's connecting and sending."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            if not notify:
                return LocalBus(poll_seconds)
            return PgBus("postgresql://" + database_url[len(prefix):], poll_seconds,
                         application_name=f"ucs-graphql {origin}".strip(), timeout=timeout)
    path = sqlite_path(database_url)
    if path is None or str(path) in ("", ":memory:"):
        return LocalBus(poll_seconds)
    from ucs_graphql.events.sqlite import SqliteBus

    return SqliteBus(database_url, poll_seconds, origin=origin, timeout=timeout)


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
        await bus.committed(events)
    return result
