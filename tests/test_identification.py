"""Identify Customer (CV.WS.CUSTID.1) and identification keys as indexes kept by every write."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, set_mode
from tests.profile_fixtures import BRUCE, PHONE, count_statements, create, data_statements, define

ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}
ID_NAME = {"name": "idName", "attributes": ["LastName", "FirstName"]}
ID_EMAIL = {"name": "idEmail", "attributes": ["EmailAddress"], "unique": True, "normalize": "email"}


async def identify(client, **params):
    resp = await client.get("/profiles", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_identify_by_extension_phone_with_normalisation(client):
    await define(client, PHONE, keys=[ID_PHONE])
    cid = await create(client, {**BRUCE, "Phone": [{"PhoneNumber": "+33314592653"}]})
    assert await identify(client, **{"Phone.PhoneNumber": "+33 3 14 59 26 53"}) == {"customer_id": cid}
    assert await identify(client, **{"phone.phonenumber": "0033-314-592-653"}) == {"customer_id": cid}
    assert await identify(client, **{"Phone.PhoneNumber": "+33 3 14 59 26 54"}) == []
    got = await identify(client, **{"Phone.PhoneNumber": "+33314592653", "include_profile": "yes",
                                    "extensions": "Phone"})
    assert got == {"customer_id": cid, "FirstName": "Bruce", "LastName": "Banner",
                   "EmailAddress": BRUCE["EmailAddress"], "Phone": [{"PhoneType": 0, "PhoneNumber": "+33314592653"}]}
    got = await identify(client, **{"Phone.PhoneNumber": "+33314592653", "extensions": "Phone"})
    assert got == {"customer_id": cid, "Phone": [{"PhoneType": 0, "PhoneNumber": "+33314592653"}]}


async def test_several_matches_and_include_extensions_unique(client):
    await define(client, PHONE, keys=[ID_PHONE])
    a = await create(client, {"FirstName": "John", "Phone": [{"PhoneNumber": "408-888-3214"}]})
    b = await create(client, {"FirstName": "Jane", "Phone": [{"PhoneNumber": "4088883214"}, {"PhoneNumber": "1"}]})
    got = await identify(client, **{"Phone.PhoneNumber": "408 888 3214", "extensions": "Phone"})
    assert sorted(m["customer_id"] for m in got) == sorted([a, b]) and all("Phone" in m for m in got)
    got = await identify(client, **{"Phone.PhoneNumber": "4088883214", "extensions": "Phone",
                                    "include_extensions": "unique", "include_profile": "yes"})
    assert {m["FirstName"] for m in got} == {"John", "Jane"} and not any("Phone" in m for m in got)
    got = await identify(client, **{"Phone.PhoneNumber": "1", "extensions": "Phone", "include_extensions": "unique"})
    assert got["customer_id"] == b and len(got["Phone"]) == 2
    # The reference's example spells the options exclude_*; they keep the include_* meaning.
    got = await identify(client, **{"Phone.PhoneNumber": "1", "exclude_profile": "yes"})
    assert got["FirstName"] == "Jane"


async def test_index_follows_every_extension_write(client):
    await define(client, PHONE, keys=[ID_PHONE])
    cid = await create(client, {"FirstName": "Al"})
    assert await identify(client, **{"Phone.PhoneNumber": "111"}) == []
    await client.post(f"/profiles/{cid}/extensions", json={"Phone": [{"PhoneNumber": "111"}]})
    assert await identify(client, **{"Phone.PhoneNumber": "111"}) == {"customer_id": cid}
    await client.put(f"/profiles/{cid}/extensions/Phone/delete/by/unique", json={"PhoneNumber": "111"})
    assert await identify(client, **{"Phone.PhoneNumber": "111"}) == []
    await client.put(f"/profiles/{cid}", json={"FirstName": "Al", "Phone": [{"PhoneNumber": "222"}]})
    assert await identify(client, **{"Phone.PhoneNumber": "222"}) == {"customer_id": cid}
    await client.put(f"/profiles/{cid}", json={"FirstName": "Al"})  # extensions untouched
    assert await identify(client, **{"Phone.PhoneNumber": "222"}) == {"customer_id": cid}
    await client.delete(f"/profiles/{cid}")
    assert await identify(client, **{"Phone.PhoneNumber": "222"}) == []


async def test_profile_key_on_multi_valued_attribute_and_unique_refusal(client):
    await define(client, PHONE, keys=[ID_EMAIL])
    cid = await create(client, BRUCE)
    for email in ("bruce.banner@marvelous.com", "B.Banner@HULK.dom "):
        assert await identify(client, EmailAddress=email) == {"customer_id": cid}
    assert_error(await client.post("/profiles", json={"EmailAddress": "b.banner@hulk.DOM"}), 409, 4090, "idEmail")
    other = await create(client, {"EmailAddress": "other@x.org"})
    assert_error(await client.put(f"/profiles/{other}", json={"EmailAddress": ["other@x.org", "b.banner@hulk.dom"]}),
                 409, 4090, "idEmail")
    # The refused update changed nothing.
    assert (await client.get(f"/profiles/{other}")).json()["EmailAddress"] == "other@x.org"
    await client.put(f"/profiles/{cid}", json={"EmailAddress": "new@hulk.dom"})
    assert await identify(client, EmailAddress="b.banner@hulk.dom") == []
    await client.put(f"/profiles/{other}", json={"EmailAddress": "b.banner@hulk.dom"})
    assert await identify(client, EmailAddress="B.BANNER@hulk.dom") == {"customer_id": other}


async def test_unique_extension_key_refuses_a_second_customer(client):
    await define(client, PHONE, keys=[{**ID_PHONE, "unique": True}])
    await create(client, {"Phone": [{"PhoneNumber": "+1 555 0100"}]})
    assert_error(await client.post("/profiles", json={"Phone": [{"PhoneNumber": "+15550100"}]}), 409, 4090, "idPhone")
    cid = await create(client, {"FirstName": "B"})
    resp = await client.post(f"/profiles/{cid}/extensions", json={"Phone": [{"PhoneNumber": "+1-555-0100"}]})
    assert_error(resp, 409, 4090, "idPhone")
    assert (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"] == []


async def test_key_choice_follows_the_reference_algorithm(client):
    await define(client, keys=[{"name": "k1", "attributes": ["LastName", "FirstName", "Title"]},
                               {"name": "k2", "attributes": ["LastName", "PhoneNumber"]},
                               {"name": "k3", "attributes": ["PhoneNumber"]}])
    doe = await create(client, {"LastName": "Doe", "FirstName": "Jane", "Title": "Dr", "PhoneNumber": "1"})
    jon = await create(client, {"LastName": "Doe", "FirstName": "John", "Title": "Mr", "PhoneNumber": "2"})
    # k2 is fully covered (k1 only scores 1): one match.
    assert await identify(client, LastName="Doe", PhoneNumber="1") == {"customer_id": doe}
    # No key covered: k1 scores 2 (LastName, FirstName), k2 scores 1: prefix lookup on k1.
    assert await identify(client, LastName="Doe", FirstName="John") == {"customer_id": jon}
    # Tie on score 1 between k1 and k2: k1 (created first) is used.
    got = await identify(client, LastName="Doe")
    assert sorted(m["customer_id"] for m in got) == sorted([doe, jon])
    # An explicit key uses only its own attributes.
    assert await identify(client, LastName="Doe", PhoneNumber="2", id_key="k3") == {"customer_id": jon}
    assert_error(await client.get("/profiles", params={"Title": "Dr"}), 400, 4020, "no identification key")
    assert_error(await client.get("/profiles", params={"PhoneNumber": "1", "id_key": "nope"}), 404, 4040, "nope")
    assert_error(await client.get("/profiles", params={"FirstName": "J", "id_key": "k2"}), 400, 4021, "LastName")
    assert_error(await client.get("/profiles", params={"Shoe": "9"}), 400, 4020, "Shoe")
    assert_error(await client.get("/profiles", params={"Nope.x": "9"}), 400, 4020, "Nope")
    assert_error(await client.get("/profiles"), 400, 4021)
    assert_error(await client.get("/profiles", params={"PhoneNumber": "1", "include_profile": "maybe"}), 400)
    assert_error(await client.get("/profiles", params={"PhoneNumber": "1", "include_extensions": "x"}), 400)
    assert_error(await client.get("/profiles", params={"PhoneNumber": "1", "extensions": "Nope"}), 404)


async def test_repeated_query_values_match_any(client):
    await define(client, keys=[{"name": "idPhone", "attributes": ["PhoneNumber"]}])
    a = await create(client, {"PhoneNumber": "1"})
    b = await create(client, {"PhoneNumber": ["3", "2"]})
    got = (await client.get("/profiles?PhoneNumber=1&PhoneNumber=2")).json()
    assert sorted(m["customer_id"] for m in got) == sorted([a, b])


async def test_creating_a_key_indexes_existing_customers(client):
    await define(client, PHONE)
    a = await create(client, {"LastName": "Doe", "Phone": [{"PhoneNumber": "9"}]})
    b = await create(client, {"LastName": "Doe", "Phone": [{"PhoneNumber": "8"}, {"PhoneNumber": "7"}]})
    await set_mode(client, "maintenance")
    resp = await client.post("/metadata/identification-keys", json={"name": "idLast", "attributes": ["LastName"],
                                                                   "unique": True})
    assert_error(resp, 409, 4090, "idLast")
    assert (await client.get("/metadata/identification-keys")).json() == []
    assert (await client.post("/metadata/identification-keys", json={**ID_PHONE, "unique": True})).status_code == 201
    assert (await client.post("/metadata/identification-keys", json={"name": "idLast",
                                                                    "attributes": ["LastName"]})).status_code == 201
    await set_mode(client, "production")
    assert await identify(client, **{"Phone.PhoneNumber": "9"}) == {"customer_id": a}
    assert len(await identify(client, LastName="Doe")) == 2
    await set_mode(client, "maintenance")
    assert (await client.delete("/metadata/identification-keys/idPhone")).status_code == 204
    await set_mode(client, "production")
    assert_error(await client.get("/profiles", params={"Phone.PhoneNumber": "8", "id_key": "idPhone"}), 404)
    # A key with the same name later starts from the current data, not from stale entries.
    await client.delete(f"/profiles/{b}")
    await set_mode(client, "maintenance")
    assert (await client.post("/metadata/identification-keys", json=ID_PHONE)).status_code == 201
    await set_mode(client, "production")
    assert await identify(client, **{"Phone.PhoneNumber": "8"}) == []


@pytest.mark.parametrize("kind, stored, query", [
    ("phone", "+33 (0)1 23", "+33 0123"),
    ("email", "Jane@Example.ORG", " jane@example.org"),
    ("casefold", "STRASSE", "straße"),
])
async def test_normalisations(client, kind, stored, query):
    await define(client, keys=[{"name": "k", "attributes": ["Title"], "normalize": kind}])
    cid = await create(client, {"Title": stored})
    assert await identify(client, Title=query) == {"customer_id": cid}


async def test_typed_extension_key_values(client):
    schema = {"name": "Card", "type": "multi-valued", "attributes": [
        {"name": "num", "type": "long"}, {"name": "rate", "type": "double"}, {"name": "ok", "type": "boolean"}]}
    await define(client, schema, keys=[{"name": "idCard", "source": "Card", "attributes": ["num", "rate", "ok"]}])
    cid = await create(client, {"Card": [{"num": 42, "rate": 2, "ok": True}]})
    assert await identify(client, **{"Card.num": "42", "Card.rate": "2.0", "Card.ok": "true"}) == {"customer_id": cid}
    assert_error(await client.get("/profiles", params={"Card.num": "x"}), 400, 4020, "card.num")


async def test_identification_costs_a_constant_number_of_statements(client):
    await define(client, PHONE, keys=[ID_PHONE])
    for i in range(6):
        await create(client, {"FirstName": f"c{i}", "Phone": [{"PhoneNumber": "555"}, {"PhoneNumber": str(i)}]})
    params = {"include_profile": "yes", "extensions": "Phone"}
    await identify(client, **{"Phone.PhoneNumber": "1"}, **params)
    seen = count_statements(client)
    costs = []
    for number, expected in (("1", 1), ("555", 6)):
        seen.clear()
        got = await identify(client, **{"Phone.PhoneNumber": number}, **params)
        assert (len(got) if isinstance(got, list) else 1) == expected
        costs.append(data_statements(seen))
    assert costs == [3, 3]


async def test_bulk_insert_writes_rows_records_and_entries_in_one_transaction(client):
    from ucs_graphql.context import Ctx
    from ucs_graphql.kit.errors import AlreadyExists
    from ucs_graphql.profiles import bulk
    from ucs_graphql.profiles.model import parse_profile

    await define(client, PHONE, keys=[{**ID_PHONE, "unique": True}])
    ctx = Ctx(client._transport.app.state.runtime)
    schemas = await ctx.schemas()
    docs = [parse_profile(schemas, {"FirstName": f"c{i}", "Phone": [{"PhoneNumber": f"+1 555 {i}"}]},
                          check_values=True) for i in range(3)]
    ids = await ctx.db.write(lambda conn: bulk.insert_new_profiles(conn, 1, schemas, None, docs))
    assert await identify(client, **{"Phone.PhoneNumber": "+15552", "include_profile": "yes"}) == {
        "customer_id": ids[2], "FirstName": "c2"}
    clash = [parse_profile(schemas, {"Phone": [{"PhoneNumber": "+1 555 9"}]}, check_values=True),
             parse_profile(schemas, {"Phone": [{"PhoneNumber": "+1 (555) 1"}]}, check_values=True)]
    with pytest.raises(AlreadyExists, match="idPhone"):
        await ctx.db.write(lambda conn: bulk.insert_new_profiles(conn, 1, schemas, None, clash))
    assert await identify(client, **{"Phone.PhoneNumber": "+15559"}) == []
