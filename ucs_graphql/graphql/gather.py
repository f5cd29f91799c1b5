"""Sibling fields awaited together: the first error is raised at once and the others are called off, without a
coroutine left never awaited.

graphql-core (3.3) awaits a selection's asynchronous fields with `graphql.pyutils.gather_with_cancel`: on the first
error it cancels the other fields' tasks, and asyncio's `gather` cancels them too when the task awaiting it is
cancelled (a parent's sibling failed). A task cancelled before its first step drops its coroutine unrun, and with
it every coroutine that one was handed to await (graphql-core's `get_results`, Strawberry's `_async_resolver`):
each is reported "coroutine ... was never awaited" when collected, on standard error in production and as a
failed test under `filterwarnings = error`. The answer was right; the report is noise that hides real ones.

`gather_with_cancel` here keeps graphql-core's contract (results in order; the first error raised after the others
are settled; cancellation passed on to them) and differs in how it calls a task off: a task it made that has not
taken its first step is cancelled just after that step (already scheduled, it runs first), so its coroutine starts
and every coroutine it holds is awaited, and then cancelled where it waits. A future it was handed (a DataLoader's,
shared with other fields) is waited for, never cancelled. `install` puts it in graphql-core's executor, whose
functions look it up by name at each call; the compiled plans (`compiled.py`) call it directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import graphql.execution.executor as _executor
from graphql.pyutils import gather_with_cancel as _upstream

__all__ = ["gather_with_cancel", "install", "installed"]


async def gather_with_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await `awaitables` concurrently; their results in order, or the first error once the rest are called off
    and settled."""
    if not awaitables:
        return []
    futures = [asyncio.ensure_future(aw) for aw in awaitables]
    made = [f for f, aw in zip(futures, awaitables, strict=True) if f is not aw]
    try:
        await asyncio.wait(futures, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        _call_off(made)
        await asyncio.wait(futures)
        raise
    failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
    if failed is None:
        return [f.result() for f in futures]  # a future cancelled by someone else raises CancelledError here
    _call_off(made)
    await asyncio.wait(futures)
    for future in futures:
        if future.done() and not future.cancelled():
            future.exception()  # retrieved: a sibling's own error is not the one raised, nor logged as lost
    raise failed.exception()  # type: ignore[misc]


def _call_off(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the unfinished tasks on the loop's next turn: after the first step of one that has not taken it
    (scheduled when the task was made, so before this), where it waits for one that has."""
    for task in tasks:
        if not task.done():
            task.get_loop().call_soon(task.cancel)


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
