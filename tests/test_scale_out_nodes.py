"""Three server processes on one PostgreSQL act as one server: the soak's clients send each request to the
next of the three ports in turn, and afterwards the invariant checker finds nothing broken."""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter

import httpx
import pytest

from bench.invariants import Ledger, check
from bench.soak import drive
from tests.conftest import wipe
from tests.server_process import serve

CLIENTS = 12
SECONDS = 10


class RoundRobin(httpx.AsyncBaseTransport):
    """Sends each request to the next of several servers (the request's URL names the first one)."""

    def __init__(self, ports: list[int], counts: Counter[int]) -> None:
        self.ports, self.counts = itertools.cycle(ports), counts
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self.ports)
        self.counts[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_three_nodes_behind_a_round_robin_keep_every_invariant(database_url, backend, tmp_path):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database")
    ledger = Ledger()
    counts: Counter[int] = Counter()
    try:
        async with contextlib.AsyncExitStack() as stack:
            servers = []
            for n in range(3):
                (tmp_path / str(n)).mkdir()
                servers.append(await stack.enter_async_context(serve(tmp_path / str(n), database_url)))
            ports = [int(s.base_url.rsplit(":", 1)[1]) for s in servers]
            stats = await drive(servers[0].base_url, CLIENTS, SECONDS, ledger,
                                transport=lambda: RoundRobin(ports, counts))
        print(stats.report())
        assert stats.server_errors() == 0 and stats.unexpected == [] and stats.no_answer == 0, stats.report()
        assert {"create", "update", "merge", "delete", "transition", "complete_svc"} <= set(stats.ms)
        # Every node served its share, and each server's access log shows it.
        assert set(counts) == set(ports) and min(counts.values()) >= sum(counts.values()) // 3 - CLIENTS
        assert all(s.access_records() for s in servers)
        assert ledger.gone and ledger.services
        assert await check(database_url, ledger) == []
    finally:
        await wipe(database_url)
