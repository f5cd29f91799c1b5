"""Password guessing is slowed per user name and client address (429 before the slow hash runs), while
callers presenting valid credentials keep being served."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests import helpers
from tests.test_limits import _HASH, USERS, basic

from .helpers import assert_error


def wrong(user: str, n: int) -> dict[str, str]:
    """HTTP Basic with the n-th wrong password for `user`."""
    return helpers.basic(user, f"guess-{n}")


def from_address(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """A client of the same app whose requests come from another address."""
    app = client._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4242)),
                             base_url="http://testserver")


async def counters(client: httpx.AsyncClient) -> tuple[int, int]:
    """(slow checks, throttled answers) from /metrics."""
    text = (await client.get("/metrics", headers=basic("bob"))).text
    slow = re.search(r"^ucs_auth_slow_checks_total (\S+)$", text, re.M)
    throttled = re.search(r"^ucs_auth_throttled_total (\S+)$", text, re.M)
    assert slow and throttled, text
    return int(float(slow.group(1))), int(float(throttled.group(1)))


async def test_guesses_beyond_the_burst_are_429_unchecked_and_valid_callers_stay_served(make_client):
    client = await make_client(config_text=USERS, login_failures_burst=5)
    # The IVR's account and another user, verified before the attack.
    assert (await client.get("/server/status", headers=basic("ann"))).status_code == 200
    assert (await client.get("/server/status", headers=basic("bob"))).status_code == 200
    before, _ = await counters(client)
    for n in range(5):
        assert_error(await client.get("/server/status", headers=wrong("ann", n)), 401, 4010)
    resp = await client.get("/server/status", headers=wrong("ann", 5))
    assert_error(resp, 429, 4290, "too many wrong credentials for 'ann'")
    assert int(resp.headers["retry-after"]) >= 1
    gql = await client.post("/graphql", json={"query": "{ serverStatus { mode } }"}, headers=wrong("ann", 6))
    assert gql.status_code == 429 and "retry-after" in gql.headers
    assert gql.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
    # Valid credentials from the same address are served: the same account (as an IVR sends every call) and
    # another one.
    assert (await client.get("/server/status", headers=basic("ann"))).status_code == 200
    assert (await client.get("/server/status", headers=basic("bob"))).status_code == 200
    # Guesses for the same name from another address are checked (and fail) as before.
    async with from_address(client, "10.1.2.3") as other:
        assert_error(await other.get("/server/status", headers=wrong("ann", 7)), 401, 4010)
    slow, throttled = await counters(client)
    assert (slow - before, throttled) == (6, 2)  # five guesses and the other address's; no slow hash for the 429s


async def test_concurrent_guesses_cannot_overtake_the_count(make_client):
    client = await make_client(config_text=USERS, login_failures_burst=3)
    answers = await asyncio.gather(*(client.get("/server/status", headers=wrong("ann", n)) for n in range(20)))
    statuses = sorted(resp.status_code for resp in answers)
    assert statuses == [401] * 3 + [429] * 17
    assert await counters(client) == (3 + 1, 17)  # the guesses, then bob's first check in counters()


async def test_a_repeated_wrong_credential_is_not_a_guess(make_client):
    """A misconfigured client repeating one old password costs nothing and does not slow its account down."""
    client = await make_client(config_text=USERS, login_failures_burst=2)
    statuses = {(await client.get("/server/status", headers=wrong("ann", 0))).status_code for _ in range(30)}
    assert statuses == {401}
    assert (await client.get("/server/status", headers=basic("ann"))).status_code == 200
    slow, throttled = await counters(client)
    assert (slow, throttled) == (3, 0)  # the wrong password once, ann's and bob's passwords once each


async def test_spraying_many_names_from_one_address_is_slowed_too(make_client):
    many = USERS + "".join(f'[[users]]\nname = "user{n}"\npassword_hash = "{_HASH}"\nroles = ["all"]\n'
                           for n in range(10))
    client = await make_client(config_text=many, login_failures_burst=2, login_failures_per_minute=1)
    assert (await client.get("/server/status", headers=basic("bob"))).status_code == 200
    statuses = [(await client.get("/server/status", headers=wrong(f"user{n}", 0))).status_code for n in range(10)]
    assert statuses == [401] * 8 + [429] * 2  # four times the per-name allowance per address
    assert (await client.get("/server/status", headers=basic("bob"))).status_code == 200
    async with from_address(client, "10.9.9.9") as other:
        assert_error(await other.get("/server/status", headers=wrong("user0", 1)), 401, 4010)
