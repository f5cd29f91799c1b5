"""Crash safety: SIGKILL the server in the middle of merges, transitions and profile deletes with services,
restart it on the same database, and find every acknowledged write there and every invariant kept.

Bulk import batches are killed mid-way in tests/test_import_server.py, which runs the same invariant checker.
"""

from __future__ import annotations

import asyncio
import signal

import httpx

from bench.invariants import Ledger, check
from bench.soak import Stats, drive
from tests.conftest import wipe
from tests.server_process import serve

CLIENTS = 20
WRITES = ("merge", "delete", "transition", "update", "create", "insert_phone", "complete_svc", "start_service")


async def until_busy(ledger: Ledger, stats: Stats, guard: float = 30.0) -> None:
    """Wait until merges, deletes and transitions have been acknowledged and writes are in flight."""
    async with asyncio.timeout(guard):
        while True:
            done = {op for op, latencies in stats.ms.items() if latencies}
            busy = sum(stats.in_flight[op] for op in WRITES)
            if {"merge", "delete", "transition"} <= done and len(ledger.gone) >= 5 and busy >= 3:
                return
            await asyncio.sleep(0.01)


async def test_sigkill_mid_writes_keeps_acknowledged_writes_and_invariants(database_url, tmp_path):
    ledger, stats = Ledger(), Stats()
    for name in ("before", "after"):
        (tmp_path / name).mkdir()
    try:
        async with serve(tmp_path / "before", database_url) as server:
            driving = asyncio.create_task(drive(server.base_url, CLIENTS, 120, ledger, stats=stats))
            await until_busy(ledger, stats)
            in_flight = +stats.in_flight
            server.proc.send_signal(signal.SIGKILL)
            assert await server.proc.wait() == -signal.SIGKILL
            await asyncio.sleep(0.3)  # the clients see their connections drop
            driving.cancel()
            await asyncio.gather(driving, return_exceptions=True)
        assert stats.server_errors() == 0 and stats.unexpected == [], stats.report()
        assert sum(in_flight.values()) >= 3, in_flight

        async with serve(tmp_path / "after", database_url) as server:
            assert await check(database_url, ledger) == []
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                for cid in list(ledger.customers)[:5]:
                    if cid not in ledger.unsure:
                        assert (await http.get(f"/profiles/{cid}")).status_code == 200
                resp = await http.post("/profiles", json={"FirstName": "After", "EmailAddress": ["after@crash.test"]})
                assert resp.status_code == 201, resp.text
            assert await check(database_url, ledger) == []
    finally:
        await wipe(database_url)
