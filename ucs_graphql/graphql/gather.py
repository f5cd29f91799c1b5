"""Sibling fields awaited together: the first error is raised once the others have settled, and none is cancelled
for it, so no coroutine is left never awaited and no DataLoader future other fields share is cancelled.

graphql-core (3.3) awaits a selection's asynchronous fields with `graphql.pyutils.gather_with_cancel`: on the first
error (a non-null field's, which nulls their parent) it cancels the other fields' tasks, and asyncio's `gather`
cancels them too when the task awaiting it is cancelled (the parent's own sibling failed). Two things go wrong:
- A task cancelled before its first step drops its coroutine unrun, and with it every coroutine that one was handed
  to await (graphql-core's `get_results`, Strawberry's `_async_resolver`): each is reported "coroutine ... was
  never awaited" when collected, on standard error in production and as a failed test under `filterwarnings =
  error`.
- A task cancelled while it waits for a DataLoader's future cancels that future (asyncio cancels the future a task
  waits on), which every field of the request loading the same key shares: another branch of the document, not
  called off, then fails with CancelledError.

`gather_with_cancel` here keeps graphql-core's contract (results in order; the first error raised, after the other
fields have settled, their errors retrieved) and does not cancel the others for an error: they run to their end,
which a field does within the request's time limit, and the error is raised then. Cancellation from outside (that
time limit, a client gone, a shutdown) is passed on to the tasks it made, each on the loop's next turn, so one that
has not taken its first step takes it (already scheduled, it runs first) and awaits what it holds before it is
cancelled where it waits; it waits for them to settle, through a second cancellation, before it raises. A future it
was handed is its maker's to cancel and wait for. `install` puts it in graphql-core's executor, whose functions look
it up by name at each call; the compiled plans (`compiled.py`) call it directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import graphql.execution.executor as _executor
from graphql.pyutils import gather_with_cancel as _upstream

__all__ = ["gather_with_cancel", "install", "installed", "retrieve"]


async def gather_with_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await `awaitables` concurrently; their results in order, or the first error once the rest have settled
    (run to their end; called off when this is cancelled)."""
    if not awaitables:
        return []
    futures: list[asyncio.Future[Any]] = [asyncio.ensure_future(aw) for aw in awaitables]
    try:
        await asyncio.wait(futures, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        await _settle(futures, awaitables, cancelled=True)
        raise
    failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
    if failed is None:
        return [f.result() for f in futures]  # a future cancelled by someone else raises CancelledError here
    await _settle(futures, awaitables, cancelled=False)
    raise failed.exception()  # type: ignore[misc]


async def _settle(futures: list[asyncio.Future[Any]], awaitables: tuple[Awaitable[Any], ...], cancelled: bool) -> None:
    """Wait until the tasks made here have ended, each cancelled first if this was (and cancelled when this is,
    while it waits), and retrieve every error, so that none is logged as lost; then raise CancelledError if this
    was cancelled. A future handed in is its maker's to cancel and wait for: only its error is retrieved, when it
    comes."""
    made: list[asyncio.Future[Any]] = []
    for future, awaitable in zip(futures, awaitables, strict=True):
        if future is not awaitable:
            made.append(future)
        elif future.done():
            retrieve(future)
        else:
            future.add_done_callback(retrieve)
    pending = [task for task in made if not task.done()]
    if cancelled:
        _cancel_soon(pending)
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True
            pending = [task for task in pending if not task.done()]
            _cancel_soon(pending)
        else:
            break
    for task in made:
        retrieve(task)
    if cancelled:
        raise asyncio.CancelledError


def _cancel_soon(tasks: list[asyncio.Future[Any]]) -> None:
    """Cancel each task on the loop's next turn: after the first step of one that has not taken it (scheduled when
    it was made, so before this), where it waits for one that has."""
    for task in tasks:
        task.get_loop().call_soon(task.cancel)


def retrieve(future: asyncio.Future[Any]) -> None:
    """Take a finished future's error, if any, so that asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def install() -> None:
    """Make graphql-core's executor await sibling fields with `gather_with_cancel` (idempotent)."""
    if _executor.gather_with_cancel is not gather_with_cancel:
        if _executor.gather_with_cancel is not _upstream:
            raise RuntimeError("graphql.execution.executor.gather_with_cancel is not graphql-core's own: "
                               "another module replaced it")
        _executor.gather_with_cancel = gather_with_cancel


def installed() -> bool:
    """Whether graphql-core's executor uses `gather_with_cancel`."""
    return _executor.gather_with_cancel is gather_with_cancel
