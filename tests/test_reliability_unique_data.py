"""Uniqueness of profile and service data under concurrency: the database decides, never check-then-insert.

Unique identification keys (profile creates, updates, extension inserts), unique attributes of extension
records of one owner, and explicit customer ids; on both engines, through one runtime and through two
runtimes on the same database (two workers). A request that would give a second customer the values of a
unique key is 409 naming the key. Records of one owner sharing unique values follow the write's own
semantics: an insert (CV.WS.PROF.4) or a replace lets the later one win, so every request succeeds and one
record remains.
"""

from __future__ import annotations

import httpx
import pytest

from tests.journeys import define_extensions, start_service, start_state, start_task
from tests.profile_fixtures import PHONE, create, define
from tests.race import assert_all_succeed, assert_one_winner, race

CASES = [pytest.param(n, workers, id=f"{n}x{workers}w") for n in (2, 20) for workers in (1, 2)]
WORKERS = [pytest.param(w, id=f"{w}w") for w in (1, 2)]

ID_EMAIL = {"name": "idEmail", "attributes": ["EmailAddress"], "unique": True, "normalize": "email"}
ID_PHONE = {"name": "idPhoneU", "source": "Phone", "attributes": ["PhoneNumber"], "unique": True,
            "normalize": "phone"}
EMAIL = "Bruce.Banner@Marvelous.com"
PHONE_NUMBER = "+33 3 14 59 26 53"


def email_spelled(i: int) -> str:
    """The same e-mail address (by the key's normalisation) in the i-th spelling."""
    return [EMAIL, EMAIL.lower(), f"  {EMAIL.upper()}", f"{EMAIL.lower()} "][i % 4]


def phone_spelled(i: int) -> str:
    """The same phone number (by the key's normalisation) in the i-th spelling."""
    return [PHONE_NUMBER, "+33314592653", "0033-314-592-653", "+33 (3) 1459 2653"][i % 4]


async def runtimes(make_client, workers: int, *, keys: bool = True) -> list[httpx.AsyncClient]:
    """`workers` runtimes on one database, with the Phone extension and the unique keys defined."""
    first = await make_client()
    await define(first, PHONE, keys=[ID_EMAIL, ID_PHONE] if keys else None)
    return [first, *[await make_client() for _ in range(workers - 1)]]


async def identified(client: httpx.AsyncClient, **params: str) -> list[str]:
    """Customer ids an identification answers."""
    resp = await client.get("/profiles", params=params)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    return sorted(m["customer_id"] for m in (got if isinstance(got, list) else [got]))


def assert_names_key(responses: list[httpx.Response], key: str) -> None:
    """Every 409 names the identification key it broke."""
    for resp in responses:
        if resp.status_code == 409:
            assert key in resp.json()["description"], resp.text


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_profile_create_wins_a_unique_key(make_client, n, workers):
    clients = await runtimes(make_client, workers)
    responses = await race(clients, n, lambda c, i: c.post(
        "/profiles", json={"FirstName": f"F{i}", "EmailAddress": [email_spelled(i)]}))
    winner = assert_one_winner(responses).json()["customer_id"]
    assert_names_key(responses, "idEmail")
    for client in clients:
        assert await identified(client, EmailAddress=EMAIL.lower()) == [winner]


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_profile_update_wins_a_unique_key(make_client, n, workers):
    clients = await runtimes(make_client, workers)
    ids = [await create(clients[0], {"FirstName": f"F{i}", "EmailAddress": [f"own{i}@x.dom"]}) for i in range(n)]
    responses = await race(clients, n, lambda c, i: c.put(
        f"/profiles/{ids[i]}", json={"FirstName": f"F{i}", "EmailAddress": [email_spelled(i)]}))
    assert_one_winner(responses, success=200)
    assert_names_key(responses, "idEmail")
    winner = next(ids[i] for i, r in enumerate(responses) if r.status_code == 200)
    assert await identified(clients[-1], EmailAddress=EMAIL) == [winner]
    for i, resp in enumerate(responses):  # a refused update changed nothing
        if resp.status_code == 409:
            assert await identified(clients[-1], EmailAddress=f"own{i}@x.dom") == [ids[i]]


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_extension_insert_wins_a_unique_key_on_the_extension(make_client, n, workers):
    clients = await runtimes(make_client, workers)
    ids = [await create(clients[0], {"FirstName": f"F{i}"}) for i in range(n)]
    responses = await race(clients, n, lambda c, i: c.post(
        f"/profiles/{ids[i]}/extensions", json={"Phone": [{"PhoneNumber": phone_spelled(i)}]}))
    assert_one_winner(responses, success=200)
    assert_names_key(responses, "idPhoneU")
    winner = next(ids[i] for i, r in enumerate(responses) if r.status_code == 200)
    assert await identified(clients[-1], **{"Phone.PhoneNumber": "+33314592653"}) == [winner]
    for i, resp in enumerate(responses):  # a refused insert stored no record
        if resp.status_code == 409:
            got = (await clients[-1].get(f"/profiles/{ids[i]}", params={"extensions": "Phone"})).json()
            assert got["Phone"] == [], got


@pytest.mark.parametrize(("n", "workers"), CASES)
async def test_one_explicit_customer_id_wins(make_client, n, workers):
    clients = await runtimes(make_client, workers, keys=False)
    responses = await race(clients, n, lambda c, i: c.post(
        "/profiles", json={"customer_id": "Cust42", "FirstName": f"F{i}"}))
    winner = assert_one_winner(responses)
    assert winner.json()["customer_id"] == "Cust42"
    for resp in responses:
        if resp.status_code == 409:
            assert "Cust42" in resp.json()["description"], resp.text
    first = (await clients[-1].get("/profiles/Cust42")).json()["FirstName"]
    assert first == f"F{responses.index(winner)}"


async def one_record(client: httpx.AsyncClient, customer_id: str) -> dict:
    """The customer's only Phone record (fails when there are none or several)."""
    got = (await client.get(f"/profiles/{customer_id}", params={"extensions": "Phone"})).json()["Phone"]
    assert len(got) == 1, got
    record: dict = got[0]
    return record


@pytest.mark.parametrize("workers", WORKERS)
async def test_records_with_the_same_unique_values_for_one_customer_leave_one_record(make_client, workers):
    clients = await runtimes(make_client, workers, keys=False)
    cid = await create(clients[0], {"FirstName": "Al"})
    body = [{"Phone": [{"PhoneNumber": "555", "description": f"insert {i}"}]} for i in range(20)]
    assert_all_succeed(await race(clients, 20, lambda c, i: c.post(f"/profiles/{cid}/extensions", json=body[i])),
                       success=200)
    assert (await one_record(clients[-1], cid))["description"] in {b["Phone"][0]["description"] for b in body}

    responses = await race(clients, 20, lambda c, i: c.put(
        f"/profiles/{cid}/extensions/Phone/by/unique", json={"PhoneNumber": "555", "description": f"update {i}"}))
    assert_all_succeed(responses, success=204)
    assert (await one_record(clients[-1], cid))["description"].startswith("update ")

    responses = await race(clients, 20, lambda c, i: c.put(
        f"/profiles/{cid}", json={"FirstName": f"Al{i}", "Phone": [{"PhoneNumber": "555", "description": f"p{i}"}]}))
    assert_all_succeed(responses, success=200)
    record = await one_record(clients[-1], cid)
    first = (await clients[-1].get(f"/profiles/{cid}")).json()["FirstName"]
    assert record["description"] == "p" + first.removeprefix("Al")  # one whole update won


PREFS = {"name": "Prefs", "type": "single-valued", "attributes": [{"name": "color", "type": "string"}]}


@pytest.mark.parametrize("workers", WORKERS)
async def test_writes_racing_on_a_single_valued_extension_leave_its_one_record(make_client, workers):
    """Inserts and replaces of a single-valued extension's record from 20 requests at once: every request
    succeeds, one record remains, and it is one request's whole record."""
    clients = await runtimes(make_client, workers, keys=False)
    assert (await clients[0].post("/metadata/profiles/extensions", json=PREFS)).status_code == 201
    cid = await create(clients[0], {"FirstName": "Al"})

    async def prefs() -> dict:
        got = (await clients[-1].get(f"/profiles/{cid}", params={"extensions": "Prefs"})).json()["Prefs"]
        assert isinstance(got, dict), got  # an object: the one record
        return got

    assert_all_succeed(await race(clients, 20, lambda c, i: c.post(
        f"/profiles/{cid}/extensions", json={"Prefs": {"color": f"c{i}"}})), success=200)
    assert (await prefs())["color"] in {f"c{i}" for i in range(20)}
    assert_all_succeed(await race(clients, 20, lambda c, i: c.put(
        f"/profiles/{cid}", json={"FirstName": f"Al{i}", "Prefs": {"color": f"p{i}"}})), success=200)
    first = (await clients[-1].get(f"/profiles/{cid}")).json()["FirstName"]
    assert (await prefs())["color"] == "p" + first.removeprefix("Al")


async def journey(client: httpx.AsyncClient) -> dict[str, str]:
    """A service with a state and a task; the extension paths of each."""
    await define_extensions(client)
    sid = await start_service(client, customer_id="C1")
    state = await start_state(client, sid)
    task = await start_task(client, sid)
    return {"service": f"/services/{sid}", "state": f"/services/{sid}/states/{state}",
            "task": f"/services/{sid}/tasks/{task}"}


EXTENSIONS = {"service": ("relatedOffers", "offer_name", "comments"),
              "state": ("Satisfaction", "place", "rating"),
              "task": ("Proposal", "car_type", "price")}


async def race_on_extension(clients: list[httpx.AsyncClient], item: str, level: str) -> None:
    """Replace, then update by unique, one record of the item from 20 requests at once: one record remains."""
    ext, unique, other = EXTENSIONS[level]
    url = f"{item}/extensions/{ext}"
    value = (lambda i: f"v{i}") if level == "service" else (lambda i: i)

    responses = await race(clients, 20, lambda c, i: c.put(url, json=[{unique: "gold", other: value(i)}]))
    assert_all_succeed(responses, success=200)
    got = (await clients[-1].get(item, params={"extensions": ext})).json()[ext]
    assert len(got) == 1 and got[0][unique] == "gold", got

    responses = await race(clients, 20, lambda c, i: c.put(url + "/by/unique", json={unique: "gold",
                                                                                     other: value(100 + i)}))
    assert_all_succeed(responses, success=204)
    got = (await clients[-1].get(item, params={"extensions": ext})).json()[ext]
    assert len(got) == 1 and got[0][other] in {value(100 + i) for i in range(20)}, got


@pytest.mark.parametrize("workers", WORKERS)
async def test_item_extension_writes_with_the_same_unique_values_leave_one_record(make_client, workers):
    first = await make_client()
    paths = await journey(first)
    clients = [first, *[await make_client() for _ in range(workers - 1)]]
    for level, item in paths.items():
        await race_on_extension(clients, item, level)
    responses = await race(clients, 20, lambda c, i: c.put(f"{paths['service']}/extensions/Feedback",
                                                           json={"rating": i}))
    assert_all_succeed(responses, success=200)
    got = (await clients[-1].get(paths["service"], params={"extensions": "Feedback"})).json()["Feedback"]
    assert got["rating"] in range(20), got


async def test_an_insert_replaces_only_records_sharing_values_of_the_same_unique_group(client):
    twin = {"name": "Twin", "type": "multi-valued", "unique": ["a", "b"],
            "attributes": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]}
    await define(client, twin)
    cid = await create(client, {"FirstName": "Al", "Twin": [{"a": "x", "b": "q"}]})
    resp = await client.post(f"/profiles/{cid}/extensions", json={"Twin": [{"a": "y", "b": "x"}]})
    assert resp.status_code == 200, resp.text
    got = (await client.get(f"/profiles/{cid}", params={"extensions": "Twin"})).json()["Twin"]
    assert sorted((r["a"], r["b"]) for r in got) == [("x", "q"), ("y", "x")]
    resp = await client.post(f"/profiles/{cid}/extensions", json={"Twin": [{"a": "x", "b": "z"}]})
    assert resp.status_code == 200, resp.text
    got = (await client.get(f"/profiles/{cid}", params={"extensions": "Twin"})).json()["Twin"]
    assert sorted((r["a"], r["b"]) for r in got) == [("x", "z"), ("y", "x")]
