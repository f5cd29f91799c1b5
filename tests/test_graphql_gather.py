"""Sibling fields called off after an error or a cancellation leave no coroutine never awaited
(ucs_graphql.graphql.gather), where graphql-core's own gather_with_cancel does; results, errors and cancellation
pass through as before; and the executor uses it once a schema is built."""

from __future__ import annotations

import asyncio
import gc
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from graphql.pyutils import gather_with_cancel as upstream

from tests.helpers import gql
from tests.journeys import start_service, start_state, start_task
from tests.profile_fixtures import create, define
from ucs_graphql.graphql import gather
from ucs_graphql.graphql.context import Loader
from ucs_graphql.graphql.schema import build_schema

Gather = Callable[..., Awaitable[list[Any]]]


async def value(v: Any, pause: float = 0.0) -> Any:
    await asyncio.sleep(pause)
    return v


async def fails(message: str, pause: float = 0.0) -> Any:
    await asyncio.sleep(pause)
    raise ValueError(message)


async def handed(inner: Awaitable[Any]) -> Any:
    """What graphql-core makes of a field: a coroutine awaiting the resolver's coroutine, made before it."""
    return await inner


def unawaited(caught: list[str]) -> list[str]:
    gc.collect()
    return [m for m in caught if "never awaited" in m]


@pytest.fixture
def caught(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The warnings shown and the unraisable exceptions reported (how a never-awaited coroutine is reported,
    depending on the warning filter) while a test runs."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(f"{u.exc_value} {u.object!r}"))
    with warnings.catch_warnings():  # restores the filters and showwarning after
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *args, **kwargs: seen.append(str(message))
        yield seen


async def cancel_parent_before_its_children_start(gather_fn: Gather) -> asyncio.Task[Any]:
    """A parent field awaiting its children is cancelled in the turn it made their tasks (its sibling failed)."""
    parent = asyncio.ensure_future(gather_fn(handed(value(1, 0.01)), handed(value(2, 0.01))))
    await asyncio.sleep(0)  # the parent's first step: the children's tasks are made, their first steps scheduled
    parent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await parent
    for _ in range(3):
        await asyncio.sleep(0.02)
    return parent


async def test_graphql_cores_own_function_leaves_coroutines_never_awaited(caught):
    # The defect: asyncio's gather cancels the children before their first step, and each drops the resolver
    # coroutine it was handed.
    await cancel_parent_before_its_children_start(upstream)
    assert unawaited(caught)


async def test_a_cancelled_parent_leaves_nothing_never_awaited(caught):
    parent = await cancel_parent_before_its_children_start(gather.gather_with_cancel)
    assert parent.cancelled()
    assert unawaited(caught) == []


async def test_results_come_in_order():
    assert await gather.gather_with_cancel(value("a", 0.02), value("b"), value("c", 0.01)) == ["a", "b", "c"]
    assert await gather.gather_with_cancel() == []


async def test_the_first_error_is_raised_once_the_others_have_run_to_their_end(caught):
    loop = asyncio.get_running_loop()
    logged: list[str] = []
    loop.set_exception_handler(lambda _, context: logged.append(context["message"]))
    ran_to_end: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.1)
        ran_to_end.append("slow")
        return "slow"

    with pytest.raises(ValueError, match="first"):
        await gather.gather_with_cancel(handed(slow()), fails("first"), fails("second", 0.01), handed(value(3)))
    assert ran_to_end == ["slow"]  # not cancelled for the error: nothing is left running when it is raised
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert logged == []  # the second error was retrieved
    assert unawaited(caught) == []


async def test_a_field_beside_a_failed_one_leaves_the_key_it_loads_to_the_fields_that_share_it():
    # A DataLoader future is shared by every field that loads its key. graphql-core cancels the siblings of a
    # failed field, and a task cancelled while it waits for a future cancels that future: another branch of the
    # document loading the same key failed with CancelledError.
    async def batch(keys: list[int]) -> list[str]:
        await asyncio.sleep(0.02)
        return [f"row{k}" for k in keys]

    for gather_fn, survives in ((upstream, False), (gather.gather_with_cancel, True)):
        loader: Loader[int, str] = Loader(load_fn=batch)

        async def field(key: int, loader: Loader[int, str] = loader) -> str:
            return await loader.load(key)

        survivor = asyncio.ensure_future(field(1))
        with pytest.raises(ValueError):
            await gather_fn(field(1), fails("boom", 0.005))  # the parent's non-null field fails
        if survives:
            assert await survivor == "row1"
        else:
            with pytest.raises(asyncio.CancelledError):
                await survivor


async def test_an_error_raised_while_being_called_off_is_retrieved():
    loop = asyncio.get_running_loop()
    logged: list[str] = []
    loop.set_exception_handler(lambda _, context: logged.append(context["message"]))

    async def fails_when_called_off() -> None:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            raise RuntimeError("error while being called off") from None

    caller = asyncio.ensure_future(gather.gather_with_cancel(fails_when_called_off(), value(1, 1)))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    del caller
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert logged == []  # no "Task exception was never retrieved"


async def test_a_second_cancellation_still_waits_for_the_fields_called_off():
    running = 0
    at_return: list[int] = []

    async def child() -> None:
        nonlocal running
        running += 1
        try:
            await asyncio.sleep(1)
        finally:
            try:
                await asyncio.sleep(0.05)  # its clean-up takes a while (a session closed)
            finally:
                running -= 1

    async def caller() -> None:
        try:
            await gather.gather_with_cancel(child(), child())
        finally:
            at_return.append(running)

    task = asyncio.ensure_future(caller())
    await asyncio.sleep(0.01)
    task.cancel()  # a request's time limit
    await asyncio.sleep(0.01)
    task.cancel()  # then the server's shutdown
    with pytest.raises(asyncio.CancelledError):
        await task
    assert at_return == [0]  # no field still running when the gather returned


async def test_a_time_limit_ends_a_wait_on_a_future_handed_in():
    stuck: asyncio.Future[Any] = asyncio.get_running_loop().create_future()  # a read that never returns
    began = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await gather.gather_with_cancel(stuck, asyncio.sleep(5))
    assert asyncio.get_running_loop().time() - began < 1.0
    assert not stuck.cancelled()  # its maker's to cancel


def test_a_built_schema_puts_it_in_graphql_cores_executor():
    import graphql.execution.executor as executor

    build_schema()
    assert gather.installed()
    assert executor.gather_with_cancel is gather.gather_with_cancel
    gather.install()  # again: nothing changes
    assert executor.gather_with_cancel is gather.gather_with_cancel


async def test_a_failing_root_field_beside_nested_ones_leaves_nothing_never_awaited(client, caught):
    # The document that showed the warning now and then: a profile that is not found fails beside a customer's
    # services whose states and tasks are being resolved.
    for _ in range(3):
        sid = await start_service(client, customer_id="CG")
        await start_state(client, sid)
        await start_task(client, sid)
    query = """{ b: customerServices(customerId: "CG") { serviceId states { stateId tasks { taskId } }
      tasks { taskId } } a: profile(customerId: "no such customer") { customerId } }"""
    for _ in range(40):
        data = await gql(client, query)
        assert data["data"] is None or data["data"].get("a") is None
        assert data["errors"]
    for _ in range(3):
        await asyncio.sleep(0)
    assert unawaited(caught) == []


async def test_an_unreadable_attribute_beside_a_customers_journey_leaves_nothing_never_awaited(
        make_client, database_url, caught):
    # The profile's `attributes` fails (a stored value that cannot be decrypted) while its services' states and
    # tasks are being resolved: the profile is nulled and its other fields are called off.
    from tests.test_encryption import KEY, _store, _stored

    client = await make_client(encryption_key=KEY)
    await define(client, attributes=[{"name": "SSN", "type": "string", "encrypt": True}])
    bad = await create(client, {"FirstName": "Bad", "SSN": "111"})
    for _ in range(3):
        sid = await start_service(client, customer_id=bad)
        await start_state(client, sid)
        await start_task(client, sid)
    stored = await _stored(database_url, 1, bad)
    sealed = stored["SSN"][0]
    await _store(database_url, 1, bad, {**stored, "SSN": [sealed[:-6] + ("B" * 6 if sealed.endswith("A" * 6)
                                                                         else "A" * 6)]})
    query = """query($cid: String!) { profile(customerId: $cid) { customerId attributes
      activeServices { edges { node { serviceId states { stateId tasks { taskId } } tasks { taskId } } } }
      services { edges { node { serviceId states { stateId } } } } } }"""
    for _ in range(20):
        data = await gql(client, query, {"cid": bad})
        assert (data["data"] or {}).get("profile") is None
        assert [e["extensions"]["code"] for e in data["errors"]] == ["UNREADABLE_VALUE"]
    for _ in range(3):
        await asyncio.sleep(0)
    assert unawaited(caught) == []
