"""Tasks through REST: start (in a service or a state), complete, queries, extensions, refusals."""

from __future__ import annotations

from tests.helpers import assert_error
from tests.journeys import define_extensions, start_service, start_state, start_task

T0 = "2010-06-03T08:49:53.053Z"
T1 = "2010-06-03T08:51:15.990Z"  # T0 + 82937 ms


async def test_start_complete_and_read_a_task(client):
    await define_extensions(client)
    service_id = await start_service(client)
    state_id = await start_state(client, service_id)
    resp = await client.post(f"/services/{service_id}/tasks/start", json={
        "interaction_id": 42, "est_duration": 540, "state_id": state_id, "task_type": 55, "timestamp": T0,
        "Survey": {"url": "http://ourServer/storage/userAnswers", "question1": 7, "question2": True},
        "Proposal": [{"car_type": "cabriolet", "price": 25000, "seats": 2}, {"car_type": "S.U.V.", "seats": 8}]})
    assert resp.status_code == 201, resp.text
    task_id = resp.json()["task_id"]
    assert resp.json() == {"task_id": task_id}
    assert resp.headers["location"] == f"/services/{service_id}/tasks/{task_id}"
    resp = await client.post(f"/services/{service_id}/tasks/{task_id}/end", json={
        "interaction_id": "587", "state_id": state_id, "disposition": 5, "disposition_desc": "normal ending",
        "timestamp": T1})
    assert resp.status_code == 204, resp.text
    got = (await client.get(f"/services/{service_id}/tasks/{task_id}")).json()
    assert got == {
        "task_id": task_id, "service_id": service_id, "state_id": state_id, "task_type": 55, "est_duration": 540,
        "started": {"timestamp": T0, "interaction_id": "42"}, "completed": {"timestamp": T1, "interaction_id": "587"},
        "duration": 82937, "disposition": 5, "disposition_desc": "normal ending",
    }
    got = (await client.get(f"/services/{service_id}/task/{task_id}?extensions=Survey,Proposal")).json()
    assert got["Survey"]["question1"] == 7
    assert [p["car_type"] for p in got["Proposal"]] == ["cabriolet", "S.U.V."]
    assert_error(await client.post(f"/services/{service_id}/tasks/{task_id}/end"), 409, 4091, "already completed")


async def test_start_task_refusals(client):
    service_id = await start_service(client)
    other = await start_service(client)
    foreign_state = await start_state(client, other)
    url = f"/services/{service_id}/tasks/start"
    assert_error(await client.post(url, json={}), 400, 4021, "task_type")
    assert_error(await client.post(url, json={"task_type": 1, "state_id": foreign_state}), 404, 4040, "state")
    state_id = await start_state(client, service_id)
    await client.post(f"/services/{service_id}/states/{state_id}/end", json={})
    assert_error(await client.post(url, json={"task_type": 1, "state_id": state_id}), 409, 4091, "completed")
    await client.post(f"/services/{service_id}/end", json={})
    assert_error(await client.post(url, json={"task_type": 1}), 409, 4091, "completed")
    assert (await client.get(f"/services/{service_id}/tasks")).json() == []
    assert_error(await client.post("/services/987654321/tasks/start", json={"task_type": 1}), 404, 4040)
    assert_error(await client.get(f"/services/{service_id}/tasks/99999999"), 404, 4040)
    assert_error(await client.post(f"/services/{service_id}/task/99999999/end"), 404, 4040)


async def test_query_tasks_by_status_type_and_state(client):
    await define_extensions(client)
    service_id = await start_service(client, customer_id="C1")
    state_id = await start_state(client, service_id)
    a = await start_task(client, service_id, task_type=1, state_id=state_id, Survey={"question1": 1})
    b = await start_task(client, service_id, task_type=2)
    c = await start_task(client, service_id, task_type="callback", state_id=state_id)  # default TaskType: 2
    await client.post(f"/services/{service_id}/tasks/{a}/end", json={})

    async def ids(url: str) -> list[int]:
        resp = await client.get(f"/services/{service_id}{url}")
        assert resp.status_code == 200, resp.text
        return [t["task_id"] for t in resp.json()]

    assert await ids("/tasks") == [a, b, c]
    assert await ids("/tasks/active") == [b, c]
    assert await ids("/tasks/completed") == [a]
    assert await ids("/tasks?task_types=2") == [b, c]
    assert await ids(f"/tasks?task_types=1,2&state_id={state_id}") == [a, c]
    listed = (await client.get(f"/services/{service_id}/tasks/completed?extensions=Survey")).json()
    assert listed[0]["Survey"] == {"question1": 1} and listed[0]["customer_id"] == "C1"
    assert_error(await client.get(f"/services/{service_id}/tasks?state_id=x"), 400, 4020, "state_id")
    assert_error(await client.get("/services/987654321/tasks"), 404, 4040)


async def test_task_extension_operations_under_both_spellings(client):
    await define_extensions(client)
    service_id = await start_service(client)
    task_id = await start_task(client, service_id)
    for prefix in (f"/services/{service_id}/tasks/{task_id}", f"/services/{service_id}/task/{task_id}"):
        url = f"{prefix}/extensions/Proposal"
        resp = await client.put(url, json=[{"car_type": "cabriolet", "price": 1}, {"car_type": "S.U.V."}])
        assert resp.status_code == 200, resp.text
        resp = await client.put(f"{url}/by/unique", json={"car_type": "cabriolet", "seats": 3})
        assert resp.status_code == 204, resp.text
        resp = await client.put(f"{url}/delete/by/unique", json={"car_type": "S.U.V."})
        assert resp.status_code == 204, resp.text
        got = (await client.get(f"{prefix}?extensions=Proposal")).json()
        assert got["Proposal"] == [{"car_type": "cabriolet", "price": 1, "seats": 3}]
    resp = await client.put(f"/services/{service_id}/tasks/{task_id}/extensions/Survey", json={"question1": 4})
    assert resp.status_code == 200
    assert_error(await client.put(f"/services/{service_id}/tasks/99999999/extensions/Survey", json={}), 404, 4040)
