"""States through REST: start, complete, transition, queries, extensions and lifecycle refusals."""

from __future__ import annotations

from tests.helpers import assert_error
from tests.journeys import define_extensions, start_service, start_state, start_task

T0 = "2010-05-18T15:23:34.447Z"
T1 = "2010-05-18T15:23:41.977Z"  # T0 + 7530 ms


async def test_start_and_read_a_state(client):
    await define_extensions(client)
    service_id = await start_service(client, customer_id="C1")
    resp = await client.post(f"/services/{service_id}/states/start", json={
        "interaction_id": "51", "application_type": 400, "application_id": 40, "resource_type": 200,
        "resource_id": 20, "media_type": 2, "est_duration": 60, "state_type": 100, "timestamp": T0,
        "Feedback": {"FeedbackType": "survey", "rating": 7},
        "Satisfaction": [{"rating": 2, "place": "Terranova mexico resort"}, {"rating": 8, "place": "Paris"}]})
    assert resp.status_code == 201, resp.text
    state_id = resp.json()["state_id"]
    assert resp.json() == {"state_id": state_id}
    assert resp.headers["location"] == f"/services/{service_id}/states/{state_id}"
    got = (await client.get(f"/services/{service_id}/states/{state_id}")).json()
    assert got == {
        "state_id": state_id, "service_id": service_id, "customer_id": "C1", "state_type": 100, "est_duration": 60,
        "started": {"timestamp": T0, "interaction_id": "51", "application_type": 400, "application_id": 40,
                    "resource_type": 200, "resource_id": 20, "media_type": 2},
    }
    got = (await client.get(f"/services/{service_id}/states/{state_id}?extensions=Feedback,Satisfaction")).json()
    assert got["Feedback"] == {"FeedbackType": "survey", "rating": 7}
    assert [r["place"] for r in got["Satisfaction"]] == ["Terranova mexico resort", "Paris"]


async def test_start_state_refusals(client):
    service_id = await start_service(client)
    assert_error(await client.post(f"/services/{service_id}/states/start", json={}), 400, 4021, "state_type")
    assert_error(await client.post("/services/987654321/states/start", json={"state_type": 1}), 404, 4040)
    body = {"state_type": 1, "previous_state_id": 99999999}
    assert_error(await client.post(f"/services/{service_id}/states/start", json=body), 404, 4040, "99999999")
    await client.post(f"/services/{service_id}/end", json={})
    resp = await client.post(f"/services/{service_id}/states/start", json={"state_type": 1})
    assert_error(resp, 409, 4091, "completed")
    assert (await client.get(f"/services/{service_id}/states")).json() == []


async def test_complete_state(client):
    service_id = await start_service(client)
    state_id = await start_state(client, service_id, timestamp=T0, est_duration=60)
    resp = await client.post(f"/services/{service_id}/states/{state_id}/end", json={
        "timestamp": T1, "interaction_id": "00001a57JGQ00BVS", "disposition": 10, "disposition_desc": "SUCCESS",
        "application_type": 400, "resource_id": 20})
    assert resp.status_code == 200, resp.text
    got = (await client.get(f"/services/{service_id}/states/{state_id}")).json()
    assert got["completed"] == {"timestamp": T1, "interaction_id": "00001a57JGQ00BVS", "application_type": 400,
                                "resource_id": 20}
    assert got["duration"] == 7530 and got["disposition"] == 10 and got["disposition_desc"] == "SUCCESS"
    assert_error(await client.post(f"/services/{service_id}/states/{state_id}/end"), 409, 4091, "already completed")
    assert_error(await client.post(f"/services/{service_id}/state/99999999/end"), 404, 4040)
    other = await start_service(client)
    assert_error(await client.post(f"/services/{other}/states/{state_id}/end"), 404, 4040)


async def test_transition_completes_one_state_and_starts_the_next(client):
    await define_extensions(client)
    service_id = await start_service(client, customer_id="C1")
    first = await start_state(client, service_id, timestamp=T0)
    resp = await client.post(f"/services/{service_id}/states/transition", json={
        "timestamp": T1, "session_id": "11000ABC-80236C1A-1010", "interaction_id": "123ABC908ABFFD8080",
        "from": {"state_id": first, "disposition": 1, "disposition_desc": "SUCCESS",
                 "Feedback": {"FeedbackType": "survey", "rating": 7}},
        "to": {"state_type": 8, "est_duration": 500, "Satisfaction": [{"rating": 7, "place": "beach"}]},
        "Feedback": {"rating": 1}})
    assert resp.status_code == 201, resp.text
    second = resp.json()["state_id"]
    assert resp.headers["location"] == f"/services/{service_id}/states/{second}"
    done = (await client.get(f"/services/{service_id}/states/{first}?extensions=Feedback,Satisfaction")).json()
    assert done["completed"] == {"timestamp": T1, "session_id": "11000ABC-80236C1A-1010",
                                 "interaction_id": "123ABC908ABFFD8080"}
    assert done["duration"] == 7530 and done["disposition"] == 1 and done["disposition_desc"] == "SUCCESS"
    assert done["Feedback"] == {"FeedbackType": "survey", "rating": 7} and done["Satisfaction"] == []
    new = (await client.get(f"/services/{service_id}/states/{second}?extensions=Feedback,Satisfaction")).json()
    assert new["state_type"] == 8 and new["est_duration"] == 500 and "completed" not in new
    assert new["started"] == {"timestamp": T1, "session_id": "11000ABC-80236C1A-1010",
                              "interaction_id": "123ABC908ABFFD8080", "previous_state_id": first}
    assert new["Feedback"] == {"rating": 1} and new["Satisfaction"] == [{"rating": 7, "place": "beach"}]


async def test_transition_refusals_leave_nothing_half_written(client):
    service_id = await start_service(client)
    first = await start_state(client, service_id)
    url = f"/services/{service_id}/states/transition"
    assert_error(await client.post(url, json={"to": {"state_type": 2}}), 400, 4021, "from")
    assert_error(await client.post(url, json={"from": {"state_id": first}}), 400, 4021, "to")
    assert_error(await client.post(url, json={"from": {"state_id": first}, "to": {}}), 400, 4021, "state_type")
    assert_error(await client.post(url, json={"from": "x", "to": {"state_type": 2}}), 400, 4020, "from")
    body = {"from": {"state_id": 99999999}, "to": {"state_type": 2}}
    assert_error(await client.post(url, json=body), 404, 4040)
    await client.post(f"/services/{service_id}/states/{first}/end", json={})
    body = {"from": {"state_id": first}, "to": {"state_type": 2}}
    assert_error(await client.post(url, json=body), 409, 4091, "already completed")
    assert [s["state_id"] for s in (await client.get(f"/services/{service_id}/states")).json()] == [first]
    assert_error(await client.post("/services/987654321/states/transition", json=body), 404, 4040)


async def test_query_states_with_types_and_tasks(client):
    await define_extensions(client)
    service_id = await start_service(client, customer_id="C1")
    a = await start_state(client, service_id, state_type=1, Feedback={"rating": 2})
    b = await start_state(client, service_id, state_type=2)
    c = await start_state(client, service_id, state_type="delivering_service")  # default StateType: 8
    await client.post(f"/services/{service_id}/states/{a}/end", json={})
    t1 = await start_task(client, service_id, state_id=b)
    t2 = await start_task(client, service_id, state_id=b)
    await client.post(f"/services/{service_id}/tasks/{t2}/end", json={})

    async def ids(url: str) -> list[int]:
        resp = await client.get(f"/services/{service_id}{url}")
        assert resp.status_code == 200, resp.text
        return [s["state_id"] for s in resp.json()]

    assert await ids("/states") == [a, b, c]
    assert await ids("/states/active") == [b, c]
    assert await ids("/states/completed") == [a]
    assert await ids("/states?state_types=2,8") == [b, c]
    listed = (await client.get(f"/services/{service_id}/states/active?active_tasks=true&completed_tasks=true"
                                "&extensions=Feedback")).json()
    assert listed[0]["service_id"] == service_id and listed[0]["customer_id"] == "C1"
    assert [t["task_id"] for t in listed[0]["active_tasks"]] == [t1]
    assert [t["task_id"] for t in listed[0]["completed_tasks"]] == [t2]
    assert listed[1]["active_tasks"] == [] and "Feedback" not in listed[1]
    one = (await client.get(f"/services/{service_id}/states/{b}?active_tasks=true")).json()
    assert [t["task_id"] for t in one["active_tasks"]] == [t1] and "completed_tasks" not in one
    plain = (await client.get(f"/services/{service_id}/states/{a}?extensions=Feedback")).json()
    assert plain["Feedback"] == {"rating": 2} and "active_tasks" not in plain
    assert_error(await client.get("/services/987654321/states"), 404, 4040)
    assert_error(await client.get(f"/services/{service_id}/states/99999999"), 404, 4040)


async def test_state_extension_operations_under_both_spellings(client):
    await define_extensions(client)
    service_id = await start_service(client)
    state_id = await start_state(client, service_id)
    for prefix in (f"/services/{service_id}/states/{state_id}", f"/services/{service_id}/state/{state_id}"):
        url = f"{prefix}/extensions/Satisfaction"
        resp = await client.put(url, json=[{"rating": 2, "place": "Tons of Hill, Paris"}, {"rating": 3, "place": "X"}])
        assert resp.status_code == 200, resp.text
        resp = await client.put(f"{url}/by/unique", json={"rating": 9, "usefull": True, "place": "Tons of Hill, Paris"})
        assert resp.status_code == 204, resp.text
        resp = await client.put(f"{url}/delete/by/unique", json={"place": "X"})
        assert resp.status_code == 204, resp.text
        got = (await client.get(f"{prefix}?extensions=Satisfaction")).json()
        assert got["Satisfaction"] == [{"rating": 9, "usefull": True, "place": "Tons of Hill, Paris"}]
    assert_error(await client.put(f"/services/{service_id}/states/99999999/extensions/Feedback", json={}), 404, 4040)
