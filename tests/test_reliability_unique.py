"""Uniqueness under concurrency: the database constraint decides, the winner gets 201, every loser 409.

Runs on both engines, with all requests through one runtime and spread over two runtimes on the same
database (two workers).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import set_mode
from tests.race import assert_all_succeed, assert_one_winner, race

CASES = [pytest.param(n, workers, id=f"{n}x{workers}w") for n in (2, 20) for workers in (1, 2)]


def spelled(name: str, i: int) -> str:
    """`name` in the i-th letter case (the same name case-insensitively)."""
    return "".join(c.upper() if (i >> k) & 1 else c.lower() for k, c in enumerate(name))


async def runtimes(make_client, workers: int) -> list[httpx.AsyncClient]:
    """`workers` clients, each on a runtime of its own over the same database."""
    return [await make_client() for _ in range(workers)]


async def in_maintenance(clients: list[httpx.AsyncClient]) -> None:
    """Switch to maintenance and wait until every runtime serves in it."""
    await asyncio.sleep(0.3)  # every runtime has registered and read the state
    await set_mode(clients[0], "maintenance")
    for client in clients:
        for _ in range(100):
            if (await client.get("/server/status")).json()["mode"] == "maintenance":
                break
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_extension_schema_wins_a_case_insensitive_name(make_client, n, workers):
    clients = await runtimes(make_client, workers)
    responses = await race(clients, n, lambda c, i: c.post(
        "/metadata/tasks/extensions",
        json={"name": spelled("Loyalty", i), "type": "single-valued",
              "attributes": [{"name": "level", "type": "string", "length": 10}]}))
    winner = assert_one_winner(responses)
    for client in clients:
        listed = (await client.get("/metadata/tasks/extensions")).json()
        assert [s["name"] for s in listed] == [winner.json()["name"]]


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_identification_key_wins_a_case_insensitive_name(make_client, n, workers):
    clients = await runtimes(make_client, workers)
    await in_maintenance(clients)
    responses = await race(clients, n, lambda c, i: c.post(
        "/metadata/identification-keys", json={"name": spelled("idPhone", i), "attributes": ["PhoneNumber"]}))
    assert_one_winner(responses)
    for client in clients:
        assert len((await client.get("/metadata/identification-keys")).json()) == 1


@pytest.mark.parametrize("workers", [1, 2])
async def test_distinct_names_created_at_once_all_succeed(make_client, workers):
    clients = await runtimes(make_client, workers)
    await in_maintenance(clients)
    keys = await race(clients, 20, lambda c, i: c.post(
        "/metadata/identification-keys", json={"name": f"key{i}", "attributes": ["PhoneNumber"]}))
    assert_all_succeed(keys)
    schemas = await race(clients, 20, lambda c, i: c.post(
        "/metadata/services/extensions", json={"name": f"ext{i}", "type": "single-valued",
                                                  "attributes": [{"name": "a", "type": "string", "length": 5}]}))
    assert_all_succeed(schemas)
    stored = (await clients[-1].get("/metadata/identification-keys")).json()
    assert sorted(k["name"] for k in stored) == sorted(f"key{i}" for i in range(20))
    assert len((await clients[-1].get("/metadata/services/extensions")).json()) == 20
