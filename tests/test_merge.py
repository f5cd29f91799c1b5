"""Merge Customer Profile (CV.WS.PROF.MERGE.1): attributes, extensions, services, index; all or nothing."""

from __future__ import annotations

from tests.helpers import assert_error
from tests.profile_fixtures import ADDRESS, NOTES, PHONE, VIP, create, define
from ucs_graphql.journeys import customer_links
from ucs_graphql.kit.errors import StateConflict
from ucs_graphql.profiles.merge import merge_attributes

ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"]}
ID_EMAIL = {"name": "idEmail", "attributes": ["EmailAddress"], "unique": True}

DST = {"FirstName": "Bruce", "EmailAddress": ["b@x.org", "Hulk@x.org"], "Address": {"City": "Dst"},
       "Phone": [{"PhoneNumber": "1", "description": "dst one"}, {"PhoneNumber": "2"}], "Notes": [{"text": "d"}]}
SRC = {"FirstName": "Bob", "LastName": "Banner", "EmailAddress": ["hulk@x.org", "s@x.org"],
       "Address": {"City": "Src"}, "VIP": {},
       "Phone": [{"PhoneNumber": "1", "description": "src one"}, {"PhoneNumber": "3"}], "Notes": [{"text": "s"}]}
EXTS = "Phone,Address,Notes,VIP"


async def setup(client):
    await define(client, PHONE, ADDRESS, NOTES, VIP, keys=[ID_PHONE, ID_EMAIL])
    return await create(client, DST), await create(client, SRC)


async def test_merge_keeps_destination_unique_values_by_default(client, monkeypatch):
    calls = []

    async def move(conn, tenant, src, dst, *, active_only):
        calls.append((tenant, src, dst, active_only))

    monkeypatch.setattr(customer_links, "move_customer_services", move)
    dst, src = await setup(client)
    resp = await client.put(f"/profiles/{dst}/merge/{src}", json={"keep_uniq_from_src": False,
                                                                   "keep_active_service_only": "true"})
    assert resp.status_code == 204 and resp.content == b""
    assert calls == [(1, src, dst, True)]
    got = (await client.get(f"/profiles/{dst}", params={"extensions": EXTS})).json()
    assert got["FirstName"] == ["Bruce", "Bob"] and got["LastName"] == "Banner"
    assert got["EmailAddress"] == ["b@x.org", "Hulk@x.org", "hulk@x.org", "s@x.org"]
    assert got["Address"] == {"City": "Dst", "Type": 0} and got["VIP"] == {}
    phones = {p["PhoneNumber"]: p.get("description") for p in got["Phone"]}
    assert phones == {"1": "dst one", "2": None, "3": None}
    assert sorted(n["text"] for n in got["Notes"]) == ["d", "s"]
    assert_error(await client.get(f"/profiles/{src}"), 404)
    # Identification entries followed: the source's values now find the destination.
    assert (await client.get("/profiles", params={"Phone.PhoneNumber": "3"})).json() == {"customer_id": dst}
    assert (await client.get("/profiles", params={"EmailAddress": "s@x.org"})).json() == {"customer_id": dst}
    assert (await client.get("/profiles", params={"EmailAddress": "Hulk@x.org"})).json() == {"customer_id": dst}


async def test_merge_keeps_source_unique_values_when_asked(client):
    dst, src = await setup(client)
    resp = await client.put(f"/profiles/{dst}/merge/{src}/", json={"keep_uniq_from_src": True})
    assert resp.status_code == 204
    got = (await client.get(f"/profiles/{dst}", params={"extensions": EXTS})).json()
    assert got["Address"]["City"] == "Src"
    phones = {p["PhoneNumber"]: p.get("description") for p in got["Phone"]}
    assert phones == {"1": "src one", "2": None, "3": None}


async def test_merge_without_body_and_errors(client):
    dst, src = await setup(client)
    assert_error(await client.put(f"/profiles/{dst}/merge/{dst}"), 400, 4020, "itself")
    assert_error(await client.put(f"/profiles/{dst}/merge/nobody"), 404, 4040, "nobody")
    assert_error(await client.put(f"/profiles/nobody/merge/{src}"), 404, 4040, "nobody")
    assert_error(await client.put(f"/profiles/{dst}/merge/{src}", json={"keep": True}), 400, 4020, "keep")
    assert_error(await client.put(f"/profiles/{dst}/merge/{src}", json={"keep_uniq_from_src": "perhaps"}), 400)
    assert (await client.put(f"/profiles/{dst}/merge/{src}")).status_code == 204


async def test_a_failed_merge_changes_nothing(client, monkeypatch):
    dst, src = await setup(client)
    before = [(await client.get(f"/profiles/{c}", params={"extensions": EXTS})).json() for c in (dst, src)]

    async def refuse(conn, tenant, src, dst, *, active_only):
        raise StateConflict("a service of the source cannot be moved")

    monkeypatch.setattr(customer_links, "move_customer_services", refuse)
    assert_error(await client.put(f"/profiles/{dst}/merge/{src}", json={"keep_uniq_from_src": True}), 409, 4091)
    after = [(await client.get(f"/profiles/{c}", params={"extensions": EXTS})).json() for c in (dst, src)]
    assert after == before
    assert (await client.get("/profiles", params={"Phone.PhoneNumber": "3"})).json() == {"customer_id": src}


async def test_delete_and_merge_call_the_service_hooks(client, monkeypatch):
    deleted = []

    async def delete(conn, tenant, customer_ids):
        deleted.append(list(customer_ids))

    monkeypatch.setattr(customer_links, "delete_customer_services", delete)
    cid = await create(client, {"FirstName": "Al"})
    assert (await client.delete(f"/profiles/{cid}")).status_code == 200
    assert deleted == [[cid]]


def test_attribute_merge_is_case_sensitive_and_ordered():
    merged = merge_attributes({"A": ["x", "Y"]}, {"A": ["y", "x", "z"], "B": ["1"]})
    assert merged == {"A": ["x", "Y", "y", "z"], "B": ["1"]}


async def test_a_customers_interactions_follow_merge_and_go_with_delete(client):
    from tests.test_interactions import body as interaction

    for cid in ("MA", "MB"):
        assert (await client.post("/profiles", json={"customer_id": cid, "FirstName": cid})).status_code == 201
    for iid, cid in (("i-a", "MA"), ("i-b", "MB")):
        resp = await client.post("/interactions", json=interaction(2, interaction_id=iid, customer_id=cid, text="hi"))
        assert resp.status_code == 201, resp.text
    assert (await client.put("/profiles/MA/merge/MB")).status_code == 204
    assert sorted(i["interaction_id"] for i in (await client.get("/customers/MA/interactions")).json()) == ["i-a", "i-b"]
    assert (await client.get("/interactions/i-b")).json()["customer_id"] == "MA"
    assert (await client.delete("/profiles/MA")).status_code == 200
    assert (await client.get("/customers/MA/interactions")).json() == []
    assert (await client.get("/interactions/i-a/plain_text")).status_code == 404
