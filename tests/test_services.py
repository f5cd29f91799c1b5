"""Services through REST: start, associate, complete, queries, representation, extensions, lifecycle."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, set_mode
from tests.journeys import define_extensions, start_service, start_state, start_task

T0 = "2010-06-03T08:48:18.257Z"
T1 = "2010-06-03T08:51:54.380Z"  # T0 + 216123 ms


async def test_start_anonymous_service_and_read_it_back(client):
    await define_extensions(client)
    resp = await client.post("/services/start", json={
        "timestamp": "2009-05-12T12:05:12.145Z", "interaction_id": "123ABCAADFJ1259ACF", "application_type": 400,
        "application_id": 40, "est_duration": 60, "contact_key": "42", "service_type": 100, "media_type": 1,
        "resource_id": 5005, "resource_type": 2,
        "relatedOffers": [{"offer_name": "VIP credit card black ed.", "type": 9, "comments": "proposed to all"},
                          {"offer_name": "3 times payment GOLD", "type": 4, "comments": "limited offer"}],
        "Feedback": {"FeedbackType": "survey", "rating": 7}})
    assert resp.status_code == 201, resp.text
    service_id = resp.json()["service_id"]
    assert resp.json() == {"service_id": service_id}
    assert resp.headers["location"] == f"/services/{service_id}"
    got = (await client.get(f"/services/{service_id}")).json()
    assert got == {
        "service_id": service_id, "service_type": 100, "contact_key": "42", "est_duration": 60,
        "started": {"timestamp": "2009-05-12T12:05:12.145Z", "interaction_id": "123ABCAADFJ1259ACF",
                    "application_type": 400, "application_id": 40, "media_type": 1, "resource_id": 5005,
                    "resource_type": 2},
    }
    got = (await client.get(f"/services/{service_id}?extensions=relatedOffers,feedback")).json()
    assert [r["offer_name"] for r in got["relatedOffers"]] == ["VIP credit card black ed.", "3 times payment GOLD"]
    assert got["Feedback"] == {"FeedbackType": "survey", "rating": 7}


async def test_server_assigns_the_start_time_and_increasing_ids(client):
    first = await start_service(client, customer_id="C1")
    second = await start_service(client, customer_id="C1")
    assert second > first
    got = (await client.get(f"/services/{first}")).json()
    assert got["customer_id"] == "C1"
    assert got["started"]["timestamp"].endswith("Z") and len(got["started"]["timestamp"]) == 24


@pytest.mark.parametrize("body, status, code, fragment", [
    ({"contact_key": "k"}, 400, 4021, "service_type"),
    ({"service_type": 1}, 400, 4021, "customer_id"),
    ({"service_type": 1, "contact_key": "k", "session_id": "s" * 33}, 400, 4020, "32"),
    ({"service_type": 1, "contact_key": "k", "interaction_id": "i" * 51}, 400, 4020, "50"),
    ({"service_type": 1, "contact_key": "k", "timestamp": "yesterday"}, 400, 4020, "timestamp"),
    ({"service_type": 1, "contact_key": "k", "est_duration": "long"}, 400, 4020, "est_duration"),
    ({"service_type": 1, "contact_key": "k", "Unknown": {"a": 1}}, 400, 4020, "Unknown"),
    ({"service_type": True, "contact_key": "k"}, 400, 4020, "service_type"),
    ([1, 2], 400, 4020, "object"),
])
async def test_start_refuses_bad_bodies(client, body, status, code, fragment):
    assert_error(await client.post("/services/start", json=body), status, code, fragment)


async def test_start_refuses_invalid_json_and_bad_extension_records(client):
    await define_extensions(client)
    resp = await client.post("/services/start", content=b'{"service_type": 1,', headers={"content-type": "application/json"})
    assert_error(resp, 400, 4000)
    body = {"service_type": 1, "contact_key": "k", "Feedback": {"rating": "seven"}}
    assert_error(await client.post("/services/start", json=body), 400, 4020, "Feedback.rating")
    body = {"service_type": 1, "contact_key": "k", "relatedOffers": [{"offer_name": "a"}, {"offer_name": "a"}]}
    assert_error(await client.post("/services/start", json=body), 409, 4090, "relatedOffers")
    assert (await client.get("/services/anonymous/k")).json() == []


async def test_complete_service_representation_and_lifecycle(client):
    service_id = await start_service(client, contact_key="ck", timestamp=T0, est_duration=300)
    resp = await client.post(f"/services/{service_id}/end", json={
        "timestamp": T1, "interaction_id": "1587", "disposition": 5, "disposition_desc": "normal ending",
        "media_type": 2})
    assert resp.status_code == 204, resp.text
    got = (await client.get(f"/services/{service_id}")).json()
    assert got["completed"] == {"timestamp": T1, "interaction_id": "1587", "media_type": 2}
    assert got["duration"] == 216123
    assert got["disposition"] == 5 and got["disposition_desc"] == "normal ending"
    assert "est_duration" not in got["started"] and got["est_duration"] == 300
    assert_error(await client.post(f"/services/{service_id}/end", json={}), 409, 4091, "already completed")
    assert_error(await client.post("/services/987654321/end"), 404, 4040)
    long_desc = {"disposition_desc": "d" * 65}
    other = await start_service(client)
    assert_error(await client.post(f"/services/{other}/end", json=long_desc), 400, 4020, "64")
    assert "completed" not in (await client.get(f"/services/{other}")).json()


async def test_associate_moves_the_service_between_customers(client):
    await define_extensions(client)
    service_id = await start_service(client, contact_key="408-832-7799", interaction_id="a",
                                     Feedback={"rating": 1})
    assert [s["service_id"] for s in (await client.get("/services/anonymous/408-832-7799")).json()] == [service_id]
    resp = await client.post(f"/customers/C1/services/{service_id}", json={
        "interaction_id": "123ABCAADFJ1259ACF", "media_type": 1, "resource_id": 5005, "est_duration": 90,
        "Feedback": {"FeedbackType": "survey", "rating": 7}})
    assert resp.status_code == 200, resp.text
    assert (await client.get("/services/anonymous/408-832-7799")).json() == []
    got = (await client.get("/customers/C1/services?extensions=Feedback")).json()
    assert len(got) == 1 and got[0]["customer_id"] == "C1" and got[0]["est_duration"] == 90
    assert got[0]["started"]["interaction_id"] == "123ABCAADFJ1259ACF" and got[0]["started"]["resource_id"] == 5005
    assert got[0]["Feedback"] == {"FeedbackType": "survey", "rating": 7}
    assert (await client.post(f"/customers/C2/services/{service_id}")).status_code == 200
    assert (await client.get("/customers/C1/services")).json() == []
    assert [s["customer_id"] for s in (await client.get("/customers/C2/services")).json()] == ["C2"]
    assert_error(await client.post("/customers/C2/services/987654321"), 404, 4040)
    assert_error(await client.post(f"/customers/C2/services/{service_id}", json={"customer_id": "C3"}), 400, 4020)


async def test_customer_queries_by_status_type_and_time(client):
    a = await start_service(client, customer_id="C1", service_type=1, timestamp="2020-01-01T10:00:00.000Z")
    b = await start_service(client, customer_id="C1", service_type=2, timestamp="2020-01-02T10:00:00.000Z")
    c = await start_service(client, customer_id="C1", service_type=3, timestamp="2020-01-03T10:00:00Z")
    await start_service(client, customer_id="C2", service_type=1)
    await client.post(f"/services/{a}/end", json={"timestamp": "2020-01-05T10:00:00.000Z"})

    async def ids(url: str) -> list[int]:
        resp = await client.get(url)
        assert resp.status_code == 200, resp.text
        return [s["service_id"] for s in resp.json()]

    assert await ids("/customers/C1/services") == [a, b, c]
    assert await ids("/customers/C1/services/active") == [b, c]
    assert await ids("/customers/C1/services/completed") == [a]
    assert await ids("/customers/C1/services?service_type=1,3") == [a, c]
    assert await ids("/customers/C1/services?service_types=2") == [b]
    assert await ids("/customers/C1/services?service_type=sales") == [b]  # default ServiceType: sales = 2
    assert await ids("/customers/C1/services?started_from=2020-01-02T10:00:00.000Z") == [b, c]
    assert await ids("/customers/C1/services?started_to=2020-01-02T10:00:00.000Z") == [a]
    assert await ids("/customers/C1/services/completed?completed_from=2020-01-06T00:00:00.000Z") == []
    assert await ids("/customers/C1/services/completed?completed_to=2020-01-06T00:00:00.000Z") == [a]
    assert await ids("/customers/nobody/services") == []
    assert_error(await client.get("/customers/C1/services?started_from=soon"), 400, 4020, "started_from")
    assert_error(await client.get("/customers/C1/services?active_states=maybe"), 400, 4020, "active_states")


async def test_nested_lists_appear_only_when_asked(client):
    service_id = await start_service(client, customer_id="C1")
    s1 = await start_state(client, service_id)
    s2 = await start_state(client, service_id, state_type=9)
    await client.post(f"/services/{service_id}/states/{s1}/end", json={"disposition": 5})
    t1 = await start_task(client, service_id, state_id=s2)
    t2 = await start_task(client, service_id)
    await client.post(f"/services/{service_id}/tasks/{t2}/end", json={})
    plain = (await client.get(f"/services/{service_id}")).json()
    assert not {"active_states", "completed_states", "active_tasks", "completed_tasks"} & set(plain)
    got = (await client.get("/customers/C1/services/active?active_states=true")).json()[0]
    assert [s["state_id"] for s in got["active_states"]] == [s2]
    assert "active_tasks" not in got["active_states"][0] and "completed_states" not in got
    assert "service_id" not in got["active_states"][0] and "customer_id" not in got["active_states"][0]
    full = (await client.get(f"/services/{service_id}?active_states=1&completed_states=yes&active_tasks=true"
                             "&completed_tasks=true")).json()
    assert [s["state_id"] for s in full["completed_states"]] == [s1]
    assert full["completed_states"][0]["disposition"] == 5
    assert [t["task_id"] for t in full["active_states"][0]["active_tasks"]] == [t1]
    assert [t["task_id"] for t in full["active_tasks"]] == [t1]
    assert [t["task_id"] for t in full["completed_tasks"]] == [t2]
    assert full["active_tasks"][0]["state_id"] == s2 and "service_id" not in full["active_tasks"][0]


async def test_business_attribute_names_in_and_out(make_client):
    config = """
[[business_attributes]]
name = "ServiceType"
dbid = 1
map_name = true
cv_attributes = ["Service.type"]
values = [{name = "billing", dbid = 10}, {name = "sales", dbid = 11}]

[[business_attributes]]
name = "MediaType"
dbid = 2
map_name = false
cv_attributes = ["Service.media_type"]
values = [{name = "voice", dbid = 1}, {name = "chat", dbid = 2}]
"""
    client = await make_client(config_text=config)
    service_id = await start_service(client, customer_id="C1", service_type="Sales", media_type="chat")
    got = (await client.get(f"/services/{service_id}")).json()
    assert got["service_type"] == "sales"  # map_name: the name
    assert got["started"]["media_type"] == 2  # no map_name: the id
    by_id = await start_service(client, customer_id="C1", service_type=10)
    assert (await client.get(f"/services/{by_id}")).json()["service_type"] == "billing"
    listed = (await client.get("/customers/C1/services?service_type=sales")).json()
    assert [s["service_id"] for s in listed] == [service_id]


async def test_service_extension_operations(client):
    await define_extensions(client)
    service_id = await start_service(client, relatedOffers=[{"offer_name": "a", "type": 1}])
    url = f"/services/{service_id}/extensions"
    resp = await client.put(f"{url}/relatedOffers", json=[{"offer_name": "b", "type": 2}, {"offer_name": "c"}])
    assert resp.status_code == 200, resp.text
    resp = await client.put(f"{url}/relatedOffers/by/unique", json={"offer_name": "c", "comments": "new"})
    assert resp.status_code == 204, resp.text
    resp = await client.put(f"{url}/relatedOffers/delete/by/unique", json={"offer_name": "b"})
    assert resp.status_code == 204, resp.text
    got = (await client.get(f"/services/{service_id}?extensions=relatedOffers")).json()
    assert got["relatedOffers"] == [{"offer_name": "c", "comments": "new"}]
    assert (await client.put(f"{url}/Feedback", json={"rating": 3})).status_code == 200
    assert (await client.get(f"/services/{service_id}?extensions=Feedback")).json()["Feedback"] == {"rating": 3}
    assert_error(await client.put(f"{url}/relatedOffers/delete/by/unique", json={"offer_name": "b"}), 404, 4040)
    assert_error(await client.put(f"{url}/relatedOffers/by/unique", json={"comments": "x"}), 400, 4020)
    assert_error(await client.put(f"{url}/nothing", json={"a": 1}), 404, 4040)
    assert_error(await client.put("/services/987654321/extensions/Feedback", json={"rating": 1}), 404, 4040)
    assert_error(await client.get(f"/services/{service_id}?extensions=nothing"), 400, 4020, "nothing")
    dup = [{"offer_name": "x"}, {"offer_name": "x"}]
    assert_error(await client.put(f"{url}/relatedOffers", json=dup), 409, 4090)
    assert (await client.get(f"/services/{service_id}?extensions=relatedOffers")).json()["relatedOffers"] == [
        {"offer_name": "c", "comments": "new"}]


async def test_unknown_service_is_404_and_tenants_are_apart(client):
    assert_error(await client.get("/services/987654321"), 404, 4040)
    service_id = await start_service(client, customer_id="C1")
    assert_error(await client.get(f"/services/{service_id}", headers={"X-Genesys-TenantId": "2"}), 404, 4040)
    assert (await client.get("/customers/C1/services", headers={"X-Genesys-TenantId": "2"})).json() == []
    assert_error(await client.post(f"/services/{service_id}/end", headers={"X-Genesys-TenantId": "2"}), 404, 4040)


async def test_maintenance_mode_refuses_service_operations(client):
    service_id = await start_service(client)
    await set_mode(client, "maintenance")
    assert_error(await client.get(f"/services/{service_id}"), 403, 4031, "maintenance")
    assert_error(await client.post("/services/start", json={"service_type": 1, "contact_key": "k"}), 403, 4031)


async def test_both_path_spellings_and_trailing_slash(client):
    service_id = await start_service(client)
    state_id = await start_state(client, service_id)
    task_id = await start_task(client, service_id)
    for path in (f"/services/{service_id}/state/{state_id}", f"/services/{service_id}/states/{state_id}/",
                 f"/services/{service_id}/task/{task_id}", f"/services/{service_id}/tasks/{task_id}/"):
        assert (await client.get(path)).status_code == 200, path


def _runtime(client):
    return client._transport.app.state.runtime


async def test_profile_delete_removes_services_with_states_tasks_and_extensions(client):
    from ucs_graphql.journeys.customer_links import delete_customer_services

    await define_extensions(client)
    doomed = await start_service(client, customer_id="C1", Feedback={"rating": 1})
    state_id = await start_state(client, doomed, Feedback={"rating": 2})
    await start_task(client, doomed, state_id=state_id, Survey={"question1": 3})
    kept = await start_service(client, customer_id="C2")
    async with _runtime(client).db.transaction() as conn:
        await delete_customer_services(conn, 1, ["C1"])
    assert_error(await client.get(f"/services/{doomed}"), 404, 4040)
    assert (await client.get(f"/services/{kept}")).status_code == 200
    from sqlalchemy import func, select

    from ucs_graphql.db.tables.extensions import extension_record
    async with _runtime(client).db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(extension_record)) == 0
    again = await start_service(client, customer_id="C1")
    assert again > kept  # ids are never reused


@pytest.mark.parametrize("active_only", [False, True])
async def test_profile_merge_moves_services(client, active_only):
    from ucs_graphql.journeys.customer_links import move_customer_services

    active = await start_service(client, customer_id="SRC")
    done = await start_service(client, customer_id="SRC")
    await client.post(f"/services/{done}/end", json={})
    own = await start_service(client, customer_id="DST")
    async with _runtime(client).db.transaction() as conn:
        await move_customer_services(conn, 1, "SRC", "DST", active_only=active_only)
    moved = [s["service_id"] for s in (await client.get("/customers/DST/services")).json()]
    assert moved == ([active, own] if active_only else [active, done, own])
    assert (await client.get("/customers/SRC/services")).json() == []
    assert (await client.get(f"/services/{done}")).status_code == (404 if active_only else 200)
