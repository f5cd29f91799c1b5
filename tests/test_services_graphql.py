"""Services, states and tasks through GraphQL: the same use cases as REST, nested lists through loaders."""

from __future__ import annotations

from tests.helpers import error_code, gql
from tests.journeys import define_extensions, start_service, start_state, start_task

SERVICE_FIELDS = """serviceId serviceType customerId contactKey estDuration duration disposition dispositionDesc
  started { timestamp interactionId mediaType } completed { timestamp }"""


async def test_start_transition_and_complete_through_mutations(client):
    await define_extensions(client)
    body = await gql(client, """mutation($input: ServiceStartInput!) { startService(input: $input) {
        serviceId serviceType customerId estDuration started { timestamp mediaType } extensions } }""",
                     {"input": {"serviceType": "sales", "customerId": "C1", "estDuration": 60, "mediaType": 1,
                                "timestamp": "2020-01-01T10:00:00Z", "extensions": {"Feedback": {"rating": 5}}}})
    assert "errors" not in body, body
    srv = body["data"]["startService"]
    assert srv["serviceType"] == 2 and srv["customerId"] == "C1" and srv["estDuration"] == 60
    assert srv["started"] == {"timestamp": "2020-01-01T10:00:00.000Z", "mediaType": 1}
    assert srv["extensions"] == {"Feedback": {"rating": 5}, "relatedOffers": []}
    sid = srv["serviceId"]
    body = await gql(client, """mutation($sid: Long!) { startState(serviceId: $sid, input: {stateType: 1}) {
        stateId stateType } }""", {"sid": sid})
    first = body["data"]["startState"]["stateId"]
    body = await gql(client, """mutation($sid: Long!, $from: Int!) { transitionState(serviceId: $sid, input: {
        interactionId: "i1", from: {stateId: $from, disposition: 3, extensions: {Feedback: {rating: 1}}},
        to: {stateType: 8, estDuration: 500}}) { stateId stateType estDuration previousStateId
        started { interactionId } } }""", {"sid": sid, "from": first})
    assert "errors" not in body, body
    new = body["data"]["transitionState"]
    assert new["stateType"] == 8 and new["previousStateId"] == first and new["started"]["interactionId"] == "i1"
    body = await gql(client, """mutation($sid: Long!, $st: Int!) { startTask(serviceId: $sid,
        input: {taskType: 55, stateId: $st}) { taskId stateId } }""", {"sid": sid, "st": new["stateId"]})
    task_id = body["data"]["startTask"]["taskId"]
    body = await gql(client, """mutation($sid: Long!, $t: Int!) { completeTask(serviceId: $sid, taskId: $t,
        input: {disposition: 1, dispositionDesc: "done"}) { disposition dispositionDesc completed { timestamp }
        duration } }""", {"sid": sid, "t": task_id})
    done = body["data"]["completeTask"]
    assert done["disposition"] == 1 and done["dispositionDesc"] == "done" and done["duration"] >= 0
    body = await gql(client, """mutation($sid: Long!) { completeService(serviceId: $sid,
        input: {disposition: 5}) { completed { timestamp } disposition } }""", {"sid": sid})
    assert body["data"]["completeService"]["disposition"] == 5
    body = await gql(client, """mutation($sid: Long!) { completeService(serviceId: $sid) { serviceId } }""",
                     {"sid": sid})
    assert error_code(body) == "STATE_CONFLICT"


async def test_service_query_with_nested_filters(client):
    await define_extensions(client)
    sid = await start_service(client, customer_id="C1", Feedback={"rating": 4})
    s1 = await start_state(client, sid, state_type=1)
    s2 = await start_state(client, sid, state_type=2)
    await client.post(f"/services/{sid}/states/{s1}/end", json={})
    t1 = await start_task(client, sid, state_id=s2, task_type=1)
    t2 = await start_task(client, sid, task_type=2)
    await client.post(f"/services/{sid}/tasks/{t2}/end", json={})
    body = await gql(client, """query($sid: Long!, $s2: Int!) { service(serviceId: $sid) { serviceId customerId
        active: states(status: ACTIVE) { stateId tasks { taskId } }
        completed: states(status: COMPLETED) { stateId }
        typed: states(types: [2]) { stateId }
        tasks { taskId stateId }
        doneTasks: tasks(status: COMPLETED) { taskId }
        inState: tasks(stateId: $s2) { taskId }
        extensions(names: ["Feedback"]) } }""", {"sid": sid, "s2": s2})
    assert "errors" not in body, body
    got = body["data"]["service"]
    assert got["active"] == [{"stateId": s2, "tasks": [{"taskId": t1}]}]
    assert got["completed"] == [{"stateId": s1}] and got["typed"] == [{"stateId": s2}]
    assert got["tasks"] == [{"taskId": t1, "stateId": s2}, {"taskId": t2, "stateId": None}]
    assert got["doneTasks"] == [{"taskId": t2}] and got["inState"] == [{"taskId": t1}]
    assert got["extensions"] == {"Feedback": {"rating": 4}}
    body = await gql(client, """{ customerServices(customerId: "C1", status: ACTIVE) { serviceId
        states { stateId } } anonymousServices(contactKey: "nobody") { serviceId } }""")
    assert body["data"]["customerServices"] == [{"serviceId": sid, "states": [{"stateId": s1}, {"stateId": s2}]}]
    assert body["data"]["anonymousServices"] == []
    body = await gql(client, """query($sid: Long!, $s1: Int!, $t1: Int!) {
        states(serviceId: $sid, status: ACTIVE) { stateId } state(serviceId: $sid, stateId: $s1) { stateType }
        tasks(serviceId: $sid, types: [2]) { taskId } task(serviceId: $sid, taskId: $t1) { taskType } }""",
                     {"sid": sid, "s1": s1, "t1": t1})
    assert body["data"] == {"states": [{"stateId": s2}], "state": {"stateType": 1}, "tasks": [{"taskId": t2}],
                            "task": {"taskType": 1}}


async def test_graphql_errors_and_associate(client):
    await define_extensions(client)
    body = await gql(client, "{ service(serviceId: 987654321) { serviceId } }")
    assert error_code(body) == "NOT_FOUND"
    body = await gql(client, """mutation { startService(input: {serviceType: 1}) { serviceId } }""")
    assert error_code(body) == "BAD_PARAMETER"
    sid = await start_service(client, contact_key="k")
    body = await gql(client, """mutation($sid: Long!) { associateService(customerId: "C9", serviceId: $sid,
        input: {interactionId: "x"}) { customerId started { interactionId } } }""", {"sid": sid})
    assert body["data"]["associateService"] == {"customerId": "C9", "started": {"interactionId": "x"}}
    body = await gql(client, """mutation($sid: Long!) {
        replaceJourneyExtension(level: SERVICE, serviceId: $sid, name: "relatedOffers",
                                records: [{offer_name: "a"}, {offer_name: "b"}])
        updateJourneyExtensionRecord(level: SERVICE, serviceId: $sid, name: "relatedOffers",
                                     record: {offer_name: "a", comments: "c"})
        deleteJourneyExtensionRecord(level: SERVICE, serviceId: $sid, name: "relatedOffers",
                                     record: {offer_name: "b"}) }""", {"sid": sid})
    assert body["data"] == {"replaceJourneyExtension": True, "updateJourneyExtensionRecord": True,
                            "deleteJourneyExtensionRecord": True}, body
    got = (await client.get(f"/services/{sid}?extensions=relatedOffers")).json()
    assert got["relatedOffers"] == [{"offer_name": "a", "comments": "c"}]
    state_id = await start_state(client, sid)
    body = await gql(client, """mutation($sid: Long!, $st: Int!) {
        replaceJourneyExtension(level: STATE, serviceId: $sid, itemId: $st, name: "Feedback", records: {rating: 2})
        }""", {"sid": sid, "st": state_id})
    assert body["data"]["replaceJourneyExtension"] is True
    body = await gql(client, """query($sid: Long!, $st: Int!) { state(serviceId: $sid, stateId: $st) {
        extensions(names: ["feedback"]) } }""", {"sid": sid, "st": state_id})
    assert body["data"]["state"]["extensions"] == {"Feedback": {"rating": 2}}


async def test_an_unknown_extension_fails_its_own_field_only(client):
    await define_extensions(client)
    sid = await start_service(client, customer_id="C1")
    await start_state(client, sid, Feedback={"rating": 4})
    body = await gql(client, """query($s: Long!) { service(serviceId: $s) { states {
        a: extensions(names: ["Feedback"]) b: extensions(names: ["Nope"]) } } }""", {"s": sid})
    # `b` alone is blamed; being non-null, its null reaches the nearest nullable parent (here the root).
    assert [e["path"] for e in body["errors"]] == [["service", "states", 0, "b"]]
    assert body["errors"][0]["extensions"]["code"] == "BAD_PARAMETER"
    body = await gql(client, """query($s: Long!) { service(serviceId: $s) { states {
        a: extensions(names: ["Feedback"]) } } }""", {"s": sid})
    assert body["data"]["service"]["states"][0]["a"] == {"Feedback": {"rating": 4}}


async def test_active_service_counts_by_type(client):
    counts = "{ activeServiceCounts { serviceType count } }"
    assert (await gql(client, counts))["data"] == {"activeServiceCounts": []}
    for kind in (7, 7, 7, "sales", 9):
        await start_service(client, service_type=kind, customer_id="C1")
    await start_service(client, service_type=9)  # anonymous services count too
    done = await start_service(client, service_type=7, customer_id="C2")
    assert (await client.post(f"/services/{done}/end", json={})).status_code == 204
    body = await gql(client, counts)
    assert body["data"]["activeServiceCounts"] == [{"serviceType": 7, "count": 3}, {"serviceType": 9, "count": 2},
                                                   {"serviceType": 2, "count": 1}]  # most first; "sales" is 2
