"""Concurrency helpers: fire many requests at the same moment, through one or several runtimes.

Each client stands for a worker process (a runtime of its own on the same database). The pattern fits any
rule the database must decide under concurrency: schema names today, profile unique keys and unique
extension attributes tomorrow:

    responses = await race([a, b], 20, lambda client, i: client.post(path, json=same_unique_value(i)))
    assert_one_winner(responses, success=201)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import httpx

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def race(clients: Sequence[httpx.AsyncClient], n: int, request: Request) -> list[httpx.Response]:
    """Send `n` requests at once (request i through clients[i % len(clients)]) and return every answer."""
    gate = asyncio.Event()

    async def one(i: int) -> httpx.Response:
        await gate.wait()
        return await request(clients[i % len(clients)], i)

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0)  # every task is parked at the gate
    gate.set()
    return list(await asyncio.gather(*tasks))


def statuses(responses: Sequence[httpx.Response]) -> Counter[int]:
    """How many answers had each status."""
    return Counter(r.status_code for r in responses)


def assert_one_winner(responses: Sequence[httpx.Response], success: int = 201, conflict: int = 409,
                      code: int = 4090) -> httpx.Response:
    """Exactly one request succeeded; every other one is the conflict error object (never a 5xx)."""
    seen = statuses(responses)
    assert seen == Counter({success: 1, conflict: len(responses) - 1}), (seen, [r.text for r in responses])
    for resp in responses:
        if resp.status_code == conflict:
            body = resp.json()
            assert body["code"] == code, body
            assert set(body) == {"http_method", "title", "description", "code", "uri"}, body
    return next(r for r in responses if r.status_code == success)


def assert_all_succeed(responses: Sequence[httpx.Response], success: int = 201) -> None:
    """Every request succeeded (distinct values never collide)."""
    assert statuses(responses) == Counter({success: len(responses)}), [r.text for r in responses]
