"""Customer profiles over REST: create, read, update, delete, extension records, typed validation."""

from __future__ import annotations

import re

import pytest

from tests.helpers import assert_error, set_mode
from tests.profile_fixtures import ADDRESS, BRUCE, NOTES, PHONE, VIP, create, define


async def test_create_and_read_a_profile_with_extensions(client):
    await define(client, PHONE, ADDRESS)
    resp = await client.post("/profiles", json={**BRUCE, "Address": {"City": "Paris", "Verified": "true"}})
    assert resp.status_code == 201, resp.text
    customer_id = resp.json()["customer_id"]
    assert re.fullmatch(r"[0-9A-Za-z]{16}", customer_id)
    assert resp.headers["location"] == f"/profiles/{customer_id}"
    got = (await client.get(f"/profiles/{customer_id}")).json()
    assert got == {"customer_id": customer_id, "FirstName": "Bruce", "LastName": "Banner",
                   "EmailAddress": ["bruce.banner@marvelous.com", "b.banner@hulk.dom"]}
    got = (await client.get(f"/profiles/{customer_id}", params={"extensions": "phone,Address"})).json()
    assert got["Phone"][0] == {"PhoneType": 0, "prefix": "+33", "PhoneNumber": "3145926535",
                               "description": "family phone", "start_availability": "2009-12-18T18:30:00.000Z",
                               "end_availability": "2009-12-18T21:40:00.000Z"}
    assert got["Phone"][1]["PhoneType"] == 2 and "start_availability" not in got["Phone"][1]
    assert got["Address"] == {"City": "Paris", "Verified": True, "Type": 0}


async def test_given_customer_id_and_conflicts(client):
    assert await create(client, {"customer_id": "0004Va58A92T0017", "FirstName": "Jane"}) == "0004Va58A92T0017"
    assert_error(await client.post("/profiles", json={"customer_id": "0004Va58A92T0017"}), 409, 4090,
                 "0004Va58A92T0017")
    assert_error(await client.post("/profiles", json={"customer_id": "x" * 17}), 400, 4020, "16")
    assert_error(await client.post("/profiles", json={"customer_id": 12}), 400, 4020, "customer_id")
    # A trailing slash reaches the same operation.
    assert (await client.get("/profiles/0004Va58A92T0017/")).json()["FirstName"] == "Jane"


@pytest.mark.parametrize("body, status, fragment", [
    ({"Nickname": "Hulk"}, 400, "Nickname"),
    ({"FirstName": 12}, 400, "FirstName"),
    ({"FirstName": "x" * 257}, 400, "256"),
    ({"FirstName": "select"}, 400, "keyword is not authorized"),
    ({"LastCalledAgent_TimeStamp": "yesterday"}, 400, "LastCalledAgent_TimeStamp"),
    ({"Phone": [{"prefix": "+33"}]}, 400, "Phone.PhoneNumber"),
    ({"Phone": [{"PhoneNumber": "1", "colour": "red"}]}, 400, "Phone.colour"),
    ({"Phone": [{"PhoneNumber": "1", "PhoneType": "two"}]}, 400, "Phone.PhoneType"),
    ({"Address": [{"City": "a"}, {"City": "b"}]}, 400, "single-valued"),
    ({"Address": {"City": "Paris", "Since": "someday"}}, 400, "Address.Since"),
    ({"Phone": [{"PhoneNumber": "1"}, {"PhoneNumber": "1"}]}, 409, "Phone"),
    ([{"FirstName": "a"}], 400, "object"),
])
async def test_typed_validation_on_create(client, body, status, fragment):
    await define(client, PHONE, ADDRESS)
    assert_error(await client.post("/profiles", json=body), status, contains=fragment)
    assert (await client.get("/profiles", params={"FirstName": "a"})).status_code in (200, 400)


async def test_values_keep_their_types_and_format(client):
    await define(client, ADDRESS)
    cid = await create(client, {"LastCalledAgent_TimeStamp": "2014-05-06T07:08:09",
                                "Address": {"City": "Lyon", "Score": "2.5", "Since": "2001-02-03T04:05:06Z"}})
    got = (await client.get(f"/profiles/{cid}?extensions=address")).json()
    assert got["LastCalledAgent_TimeStamp"] == "2014-05-06T07:08:09.000Z"
    assert got["Address"] == {"City": "Lyon", "Score": 2.5, "Since": "2001-02-03", "Type": 0}


async def test_mandatory_and_default_profile_attributes(client):
    await define(client, attributes=[{"name": "Segment", "type": "string", "default": "retail"},
                                     {"name": "AccountId", "type": "string", "mandatory": True}])
    assert_error(await client.post("/profiles", json={"FirstName": "Al"}), 400, 4021, "AccountId")
    cid = await create(client, {"accountid": "A1"})
    assert (await client.get(f"/profiles/{cid}")).json() == {"customer_id": cid, "AccountId": "A1",
                                                             "Segment": "retail"}


async def test_get_errors(client):
    await define(client, PHONE)
    cid = await create(client, {"FirstName": "Al"})
    assert_error(await client.get("/profiles/nobody"), 404, 4040, "nobody")
    assert_error(await client.get(f"/profiles/{cid}", params={"extensions": "Phone,Nope"}), 404, 4040, "Nope")
    got = (await client.get(f"/profiles/{cid}", params={"extensions": "Phone"})).json()
    assert got["Phone"] == []


async def test_update_replaces_attributes_and_only_given_extensions(client):
    await define(client, PHONE, ADDRESS)
    cid = await create(client, {**BRUCE, "Address": {"City": "Paris"}})
    resp = await client.put(f"/profiles/{cid}", json={"customer_id": cid, "FirstName": "Robert",
                                                      "Address": {"City": "Rome"}})
    assert resp.status_code == 200 and resp.json() == []
    got = (await client.get(f"/profiles/{cid}?extensions=Phone,Address")).json()
    assert "LastName" not in got and "EmailAddress" not in got and got["FirstName"] == "Robert"
    assert len(got["Phone"]) == 2 and got["Address"] == {"City": "Rome", "Type": 0}
    await client.put(f"/profiles/{cid}", json={"FirstName": "Robert", "Phone": []})
    assert (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"] == []
    assert_error(await client.put(f"/profiles/{cid}", json={"customer_id": "other"}), 400, 4020, "customer_id")
    assert_error(await client.put("/profiles/nobody", json={"FirstName": "x"}), 404, 4040)
    assert_error(await client.put(f"/profiles/{cid}", json={"Unknown": 1}), 400, 4020, "Unknown")


async def test_delete_profile(client):
    await define(client, PHONE)
    cid = await create(client, BRUCE)
    resp = await client.delete(f"/profiles/{cid}")
    assert resp.status_code == 200 and resp.content == b""
    assert_error(await client.get(f"/profiles/{cid}"), 404)
    assert_error(await client.delete(f"/profiles/{cid}"), 404, 4040)
    # The records went with it: a new profile with the same id starts empty.
    await create(client, {"customer_id": cid})
    assert (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"] == []


async def test_insert_extension_records(client):
    await define(client, PHONE, ADDRESS, NOTES, VIP)
    cid = await create(client, BRUCE)
    resp = await client.post(f"/profiles/{cid}/extensions", json={
        "customer_id": cid,
        "Phone": [{"PhoneNumber": "951357456", "description": ""},
                  {"PhoneNumber": "6543210", "PhoneType": 7, "description": "replaced"}],
        "Address": {"City": "Paris"}, "Notes": [{"text": "a"}], "VIP": {}})
    assert resp.status_code == 200, resp.text
    await client.post(f"/profiles/{cid}/extensions", json={"Address": {"City": "Nice"}, "Notes": [{"text": "a"}]})
    got = (await client.get(f"/profiles/{cid}?extensions=Phone,Address,Notes,VIP")).json()
    numbers = {p["PhoneNumber"]: p for p in got["Phone"]}
    assert set(numbers) == {"3145926535", "6543210", "951357456"}
    assert numbers["6543210"]["description"] == "replaced" and numbers["6543210"]["PhoneType"] == 7
    assert got["Address"] == {"City": "Nice", "Type": 0}
    assert got["Notes"] == [{"text": "a"}, {"text": "a"}]
    assert got["VIP"] == {}
    assert_error(await client.post(f"/profiles/{cid}/extensions", json={"customer_id": "other", "Notes": []}), 400)
    assert_error(await client.post(f"/profiles/{cid}/extensions", json={"FirstName": "x"}), 400, 4020, "FirstName")
    assert_error(await client.post("/profiles/nobody/extensions", json={"Notes": [{"text": "b"}]}), 404, 4040)


async def test_update_and_delete_by_unique(client):
    await define(client, PHONE, NOTES)
    cid = await create(client, BRUCE)
    url = f"/profiles/{cid}/extensions/phone"
    resp = await client.put(f"{url}/by/unique", json={"PhoneNumber": "6543210", "description": "evenings",
                                                      "PhoneType": 3})
    assert resp.status_code == 204 and resp.content == b""
    phones = (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"]
    assert {"PhoneType": 3, "prefix": "+33", "PhoneNumber": "6543210", "description": "evenings"} in phones
    assert_error(await client.put(f"{url}/by/unique", json={"PhoneNumber": "000"}), 404, 4040)
    assert_error(await client.put(f"{url}/by/unique", json={"description": "x"}), 400, 4020, "unique")
    assert_error(await client.put(f"/profiles/{cid}/extensions/nope/by/unique", json={"a": 1}), 404, 4040)
    assert_error(await client.put(f"/profiles/{cid}/extensions/notes/by/unique", json={"text": "a"}), 400)
    assert_error(await client.put("/profiles/nobody/extensions/phone/by/unique", json={"PhoneNumber": "1"}), 404)
    resp = await client.put(f"{url}/delete/by/unique", json={**BRUCE["Phone"][0]})
    assert resp.status_code == 204
    phones = (await client.get(f"/profiles/{cid}?extensions=Phone")).json()["Phone"]
    assert [p["PhoneNumber"] for p in phones] == ["6543210"]
    assert_error(await client.put(f"{url}/delete/by/unique", json={"PhoneNumber": "3145926535"}), 404)


async def test_profile_operations_need_production_mode(client):
    cid = await create(client, {"FirstName": "Al"})
    await set_mode(client, "maintenance")
    assert_error(await client.get(f"/profiles/{cid}"), 403, 4031, "maintenance")
    assert_error(await client.post("/profiles", json={}), 403, 4031)
    assert_error(await client.get("/profiles", params={"FirstName": "Al"}), 403, 4031)


async def test_tenants_do_not_see_each_other(client):
    cid = await create(client, {"FirstName": "Al"})
    assert_error(await client.get(f"/profiles/{cid}", headers={"X-Genesys-TenantId": "2"}), 404)
    resp = await client.post("/profiles", json={"customer_id": cid}, headers={"X-Genesys-TenantId": "2"})
    assert resp.status_code == 201


async def test_text_with_a_nul_character_is_a_bad_parameter_not_a_server_error(client):
    resp = await client.get("/profiles/a%00b")
    assert resp.status_code in (400, 404), resp.text
    assert set(resp.json()) == {"http_method", "title", "description", "code", "uri"}
