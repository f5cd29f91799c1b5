"""A profile delete or merge racing writes inside its services leaves nothing behind: no state, task or
extension record without its service or item (both engines, one and two runtimes)."""

from __future__ import annotations

import httpx
import pytest

from bench.invariants import check
from tests.journeys import define_extensions, start_service, start_state
from tests.profile_fixtures import create
from tests.race import race

SERVICES = 8


async def busy_customer(client: httpx.AsyncClient) -> tuple[str, list[int], list[int]]:
    """A customer with active services, each with one active state."""
    cid = await create(client, {"FirstName": "Busy"})
    sids = [await start_service(client, customer_id=cid) for _ in range(SERVICES)]
    return cid, sids, [await start_state(client, sid) for sid in sids]


def write_inside(client: httpx.AsyncClient, i: int, sid: int, state: int) -> object:
    """The i-th kind of write inside a service: a state, a task, a service or a state extension record."""
    kind = i % 4
    if kind == 0:
        return client.post(f"/services/{sid}/states/start", json={"state_type": 3})
    if kind == 1:
        return client.post(f"/services/{sid}/tasks/start", json={"task_type": 5, "state_id": state})
    if kind == 2:
        return client.put(f"/services/{sid}/extensions/Feedback", json={"rating": i})
    return client.put(f"/services/{sid}/states/{state}/extensions/Feedback", json={"rating": i})


@pytest.mark.parametrize(("op", "workers"), [("delete", 1), ("delete", 2), ("merge", 2)])
async def test_delete_or_merge_racing_writes_in_services_leaves_no_orphan(make_client, database_url, workers, op):
    clients = [await make_client() for _ in range(workers)]
    await define_extensions(clients[0])
    for _ in range(2):
        cid, sids, states = await busy_customer(clients[0])
        other = await create(clients[0], {"FirstName": "Dst"})

        def request(c: httpx.AsyncClient, i: int, cid=cid, sids=sids, states=states, other=other):
            if i == 0:
                return c.delete(f"/profiles/{cid}") if op == "delete" else c.put(
                    f"/profiles/{other}/merge/{cid}", json={"keep_active_service_only": True})
            j = i % SERVICES
            return write_inside(c, i, sids[j], states[j])

        responses = await race(clients, 4 * SERVICES + 1, request)
        assert responses[0].status_code in (200, 204), responses[0].text
        assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
        assert await check(database_url) == []
