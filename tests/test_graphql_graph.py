"""The graph a front-end walks in one request: profiles, their services (with states and tasks) and
interactions, and back; cursor connections; constant SQL statements whatever the number of profiles."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.helpers import error_code, gql, set_mode
from tests.journeys import start_service, start_state, start_task
from tests.profile_fixtures import count_statements, create, data_statements
from tests.test_interactions import body as interaction_body

PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


async def ingest(client: httpx.AsyncClient, **extra: Any) -> str:
    resp = await client.post("/interactions", json=interaction_body(2, **extra))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["interaction_id"])


async def customer_with_journey(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """A customer with an active service (a state holding a task) and a completed one, and two interactions."""
    cid = await create(client, {"FirstName": name})
    active = await start_service(client, customer_id=cid)
    state = await start_state(client, active)
    task = await start_task(client, active, state_id=state)
    done = await start_service(client, customer_id=cid)
    assert (await client.post(f"/services/{done}/end", json={})).status_code == 204
    old = await ingest(client, customer_id=cid, service_id=active, start_date="2021-01-01T00:00:00Z")
    new = await ingest(client, customer_id=cid, start_date="2021-01-02T00:00:00Z")
    return {"cid": cid, "active": active, "done": done, "state": state, "task": task, "old": old, "new": new}


async def test_a_customer_360_walks_every_edge_both_ways(client):
    c = await customer_with_journey(client, "Ann")
    anonymous = await start_service(client, contact_key="ck-1")
    got = await gql(client, """query($cid: String!) { profile(customerId: $cid) { customerId
        services { edges { node { serviceId customer { customerId } } } }
        activeServices { edges { node { serviceId states { stateId tasks { taskId state { stateId } } } }
          } }
        interactions(first: 10) { edges { node { interactionId service { serviceId customer { customerId } }
          customer { customerId } } } } }
      anonymousServices(contactKey: "ck-1") { serviceId customer { customerId } } }""", {"cid": c["cid"]})
    assert "errors" not in got, got
    profile = got["data"]["profile"]
    assert [e["node"] for e in profile["services"]["edges"]] == [
        {"serviceId": c["active"], "customer": {"customerId": c["cid"]}},
        {"serviceId": c["done"], "customer": {"customerId": c["cid"]}}]
    assert [e["node"] for e in profile["activeServices"]["edges"]] == [{"serviceId": c["active"], "states": [
        {"stateId": c["state"], "tasks": [{"taskId": c["task"], "state": {"stateId": c["state"]}}]}]}]
    assert [e["node"] for e in profile["interactions"]["edges"]] == [
        {"interactionId": c["new"], "service": None, "customer": {"customerId": c["cid"]}},
        {"interactionId": c["old"], "service": {"serviceId": c["active"], "customer": {"customerId": c["cid"]}},
         "customer": {"customerId": c["cid"]}}]
    assert got["data"]["anonymousServices"] == [{"serviceId": anonymous, "customer": None}]
    got = await gql(client, """query($sid: Long!) { service(serviceId: $sid) {
        interactions { edges { node { interactionId } } } tasks { state { stateId } } } }""", {"sid": c["active"]})
    assert got["data"]["service"] == {"interactions": {"edges": [{"node": {"interactionId": c["old"]}}]},
                                      "tasks": [{"state": {"stateId": c["state"]}}]}


async def test_connections_page_with_opaque_cursors_and_a_bounded_size(client):
    cid = await create(client, {"FirstName": "Pat"})
    ids = [await start_service(client, customer_id=cid) for _ in range(3)]
    same = "2021-03-01T00:00:00Z"  # equal starts: the id breaks the tie, newest (largest) first
    ixns = [await ingest(client, customer_id=cid, interaction_id=f"ix-{n}", start_date=same) for n in range(3)]
    query = f"""query($cid: String!, $first: Int, $after: String) {{ profile(customerId: $cid) {{
        services(first: $first, after: $after) {{ edges {{ cursor node {{ serviceId }} }} {PAGE} }}
        interactions(first: $first, after: $after) {{ edges {{ node {{ interactionId }} }} {PAGE} }} }} }}"""
    got = (await gql(client, query, {"cid": cid, "first": 2}))["data"]["profile"]
    services = got["services"]
    assert [e["node"]["serviceId"] for e in services["edges"]] == ids[:2]
    assert services["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                                    "startCursor": services["edges"][0]["cursor"],
                                    "endCursor": services["edges"][1]["cursor"]}
    assert [e["node"]["interactionId"] for e in got["interactions"]["edges"]] == ["ix-2", "ix-1"]
    after = services["pageInfo"]["endCursor"]
    rest = await gql(client, """query($cid: String!, $after: String) { profile(customerId: $cid) {
        services(first: 2, after: $after) { edges { node { serviceId } } pageInfo { hasNextPage hasPreviousPage } }
        } }""", {"cid": cid, "after": after})
    assert rest["data"]["profile"]["services"] == {"edges": [{"node": {"serviceId": ids[2]}}],
                                                   "pageInfo": {"hasNextPage": False, "hasPreviousPage": True}}
    more = await gql(client, """query($cid: String!, $after: String) { profile(customerId: $cid) {
        interactions(first: 5, after: $after) { edges { node { interactionId } } pageInfo { hasNextPage } } } }""",
                     {"cid": cid, "after": got["interactions"]["pageInfo"]["endCursor"]})
    assert more["data"]["profile"]["interactions"] == {"edges": [{"node": {"interactionId": ixns[0]}}],
                                                       "pageInfo": {"hasNextPage": False}}
    for variables in ({"first": 101}, {"first": -1}, {"after": "not a cursor"}, {"after": after, "first": 1}):
        field = "interactions" if variables.get("after") == after else "services"
        got = await gql(client, f"""query($cid: String!, $first: Int, $after: String) {{
            profile(customerId: $cid) {{ {field}(first: $first, after: $after) {{ edges {{ cursor }} }} }} }}""",
                        {"cid": cid, **variables})
        assert error_code(got) == "BAD_PARAMETER", (variables, got)
    got = await gql(client, """query($cid: String!) { profile(customerId: $cid) {
        services(first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } } } }""", {"cid": cid})
    assert got["data"]["profile"]["services"] == {"edges": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}


# Pages sized so that 50 profiles stay within the default cost limit (docs/access.md).
FIFTY = """query($ids: [String!]!) { profiles(customerIds: $ids) { customerId attributes
  services(first: 5) { edges { cursor node { serviceId customer { customerId }
    states { stateId tasks { taskId } } tasks { taskId state { stateId } }
    interactions(first: 5) { edges { node { interactionId } } } } } pageInfo { hasNextPage } }
  activeServices(first: 5) { edges { node { serviceId } } }
  interactions(first: 10) { edges { node { interactionId service { serviceId } customer { customerId } } } } } }"""


async def test_fifty_profiles_cost_the_statements_of_five(client):
    customers = [await customer_with_journey(client, f"N{n}") for n in range(50)]
    counts = {}
    for size in (5, 50):
        ids = [c["cid"] for c in customers[:size]]
        seen = count_statements(client)
        got = await gql(client, FIFTY, {"ids": ids})
        counts[size] = data_statements(seen)
        assert "errors" not in got, got
        profiles = got["data"]["profiles"]
        assert len(profiles) == size
        for c, p in zip(customers, profiles, strict=False):
            assert [e["node"]["serviceId"] for e in p["services"]["edges"]] == [c["active"], c["done"]]
            assert p["services"]["edges"][0]["node"]["tasks"] == [{"taskId": c["task"],
                                                                 "state": {"stateId": c["state"]}}]
            assert [e["node"]["interactionId"] for e in p["interactions"]["edges"]] == [c["new"], c["old"]]
    assert counts[5] == counts[50], counts
    assert counts[50] <= 8, counts
    print("statements of the 50-profile document, for 5 and for 50 profiles:", counts)


async def test_lists_of_ids_and_types_of_any_length_answer_each_item_once(client):
    """Batched reads pad their lists of ids and types (to reuse one statement per size): the repeats never show."""
    cids = [await create(client, {"FirstName": f"P{n}"}) for n in range(3)]
    sids = {cid: [await start_service(client, customer_id=cid, service_type=t) for t in (1, 2, 3, 4, 5)]
            for cid in cids}
    for sid in sids[cids[0]][:2]:
        assert (await client.post(f"/services/{sid}/end", json={})).status_code == 204
    got = await gql(client, """query($ids: [String!]!) { profiles(customerIds: $ids) { customerId
        services(status: ACTIVE, serviceTypes: [1, 2, 3]) { edges { node { serviceId serviceType } } }
        all: services { edges { node { serviceId } } } } }""", {"ids": cids})
    assert "errors" not in got, got
    profiles = got["data"]["profiles"]
    assert [[e["node"]["serviceId"] for e in p["services"]["edges"]] for p in profiles] == [
        [sids[cids[0]][2]], sids[cids[1]][:3], sids[cids[2]][:3]]
    assert [[e["node"]["serviceId"] for e in p["all"]["edges"]] for p in profiles] == [sids[c] for c in cids]


async def test_states_and_tasks_read_along_with_their_services_answer_as_read_apart(client):
    """`edges { node { states tasks } }` without arguments are read in the statement of the services: the
    same answer as when arguments make them read apart, in fewer statements."""
    customers = [await customer_with_journey(client, f"R{n}") for n in range(3)]
    for c in customers:  # a second state holding no task, and a task of the service itself
        await start_state(client, c["active"])
        await start_task(client, c["active"])
    along = """query($ids: [String!]!) { profiles(customerIds: $ids) {
        all: services { edges { node { serviceId states { stateId tasks { taskId } } tasks { taskId stateId } } } }
        activeServices { edges { node { states { stateId stateType started { timestamp } } } } } } }"""
    apart = along.replace("states {", "states(status: ALL) {").replace("tasks {", "tasks(status: ALL) {")
    answers, counts = [], []
    for query in (along, apart):
        seen = count_statements(client)
        got = await gql(client, query, {"ids": [c["cid"] for c in customers]})
        counts.append(data_statements(seen))
        assert "errors" not in got, got
        answers.append(got["data"])
    assert answers[0] == answers[1]
    first = answers[0]["profiles"][0]["all"]["edges"]
    assert [len(e["node"]["states"]) for e in first] == [2, 0] and [len(e["node"]["tasks"]) for e in first] == [2, 0]
    assert counts[0] < counts[1], counts


_VIEW = f"""customerId attributes
    activeServices(first: $first, after: $after) {{ edges {{ cursor node {{ serviceId serviceType
      started {{ timestamp }} states {{ stateId stateType started {{ timestamp }} }} tasks {{ taskId taskType stateId }}
    }} }} {PAGE} }}
    interactions(first: $ifirst, after: $iafter) {{ edges {{ cursor node {{ interactionId type mediaType startDate
      subject }} }} {PAGE} }}"""
_ARGS = "query($cid: String!, $first: Int, $after: String, $ifirst: Int, $iafter: String)"
VIEW = _ARGS + " { profile(customerId: $cid) { " + _VIEW + " } }"
# The same selection through a fragment: each field then reads through its own loader.
APART = _ARGS + " { profile(customerId: $cid) { ...P } } fragment P on Profile { " + _VIEW + " }"
_VIEWS = """customerId attributes services(first: 1) { edges { node { serviceId tasks { taskId } } }
  pageInfo { hasNextPage } } interactions { edges { node { interactionId } } }"""
VIEWS = "query($ids: [String!]!) { profiles(customerIds: $ids) { " + _VIEWS + " } }"
VIEWS_APART = "query($ids: [String!]!) { profiles(customerIds: $ids) { ...P } } fragment P on Profile { " + _VIEWS + " }"


async def test_a_customer_view_is_one_statement_and_answers_as_its_fields_read_apart(client):
    """A profile with one page of services (their states and tasks) and a page of interactions is read in one
    statement, with the answer (errors included) of each field reading on its own."""
    customers = [await customer_with_journey(client, f"V{n}") for n in range(3)]
    second = await start_service(client, customer_id=customers[0]["cid"])
    await start_task(client, second)
    first_page = await gql(client, VIEW, {"cid": customers[0]["cid"], "first": 1, "ifirst": 1})
    cursors = (first_page["data"]["profile"]["activeServices"]["pageInfo"]["endCursor"],
               first_page["data"]["profile"]["interactions"]["pageInfo"]["endCursor"])
    asks = [{"cid": customers[0]["cid"]}, {"cid": customers[0]["cid"], "first": 1, "ifirst": 1},
            {"cid": customers[0]["cid"], "first": 1, "after": cursors[0], "ifirst": 5, "iafter": cursors[1]},
            {"cid": customers[1]["cid"], "first": 0, "ifirst": None}, {"cid": "nobody"},
            {"cid": customers[2]["cid"], "after": "not a cursor"}]
    for variables in asks:
        answers, counts = [], []
        for query in (VIEW, APART):
            seen = count_statements(client)
            got = await gql(client, query, variables)
            counts.append(data_statements(seen))
            answers.append((got.get("data"), [(e["path"], e["extensions"]["code"]) for e in got.get("errors", [])]))
        assert answers[0] == answers[1], variables
        if (variables["cid"] != "nobody" and "after" not in variables) or variables.get("after") == cursors[0]:
            assert answers[0][1] == [] and counts[0] == 1 < counts[1], (variables, counts, answers[0])
    nested = answers[0]
    assert nested[1] == [(["profile", "activeServices"], "BAD_PARAMETER")], nested
    ids = [c["cid"] for c in customers] + ["nobody", customers[0]["cid"]]
    answers, counts = [], []
    for query in (VIEWS, VIEWS_APART):
        seen = count_statements(client)
        answers.append(await gql(client, query, {"ids": ids}))
        counts.append(data_statements(seen))
    assert answers[0] == answers[1] and "errors" not in answers[0], answers
    assert counts[0] == 1 < counts[1], counts
    assert [p and len(p["services"]["edges"]) for p in answers[0]["data"]["profiles"]] == [1, 1, 1, None, 1]


async def test_a_customer_view_in_maintenance_mode_fails_as_its_fields_do(client):
    c = await customer_with_journey(client, "M")
    await set_mode(client, "maintenance")
    answers = []
    for query in (VIEW, APART):
        got = await gql(client, query, {"cid": c["cid"]})
        answers.append((got.get("data"), [(e["path"], e["extensions"]["code"]) for e in got.get("errors", [])]))
    assert answers[0] == answers[1] and answers[0][1], answers


async def test_the_cost_limit_counts_a_connection_by_its_page(client):
    """A connection costs its `first` times its node's cost (its edges once): 1,000 profiles with pages of 100
    services are refused before anything runs; pages of 1 are not."""
    ids = [f"C{n}" for n in range(1000)]
    query = """query($ids: [String!]!, $n: Int) { profiles(customerIds: $ids) {
        services(first: $n) { edges { node { serviceId states { stateId } } } } } }"""
    refused = await gql(client, query, {"ids": ids, "n": 100})
    assert error_code(refused) == "LIMIT_EXCEEDED", refused
    got = await gql(client, query, {"ids": ids, "n": 1})
    assert "errors" not in got and got["data"]["profiles"] == [None] * 1000, got


async def test_durations_beyond_an_int_are_answered_as_longs(client):
    long_ms = 45 * 24 * 3600 * 1000  # 45 days: more than 2**31 - 1 milliseconds
    got = await gql(client, """mutation($ms: Long!) { startService(input: {serviceType: 1, customerId: "C1",
        estDurationMs: $ms, timestamp: "2020-01-01T00:00:00Z"}) { serviceId estDurationMs } }""", {"ms": long_ms})
    assert got["data"]["startService"]["estDurationMs"] == long_ms, got
    sid = got["data"]["startService"]["serviceId"]
    got = await gql(client, """mutation($sid: Long!) { completeService(serviceId: $sid,
        input: {timestamp: "2020-02-15T00:00:00Z"}) { durationMs } }""", {"sid": sid})
    assert got["data"]["completeService"] == {"durationMs": long_ms}, got
    got = await gql(client, "query($sid: Long!) { service(serviceId: $sid) { duration } }", {"sid": sid})
    assert got["errors"][0]["path"] == ["service", "duration"], got  # the deprecated Int cannot hold it
    got = await gql(client, """mutation { startService(input: {serviceType: 1, estDuration: 5, estDurationMs: 5})
        { serviceId } }""")
    assert error_code(got) == "BAD_PARAMETER", got
    got = await gql(client, """query { __type(name: "Service") { fields(includeDeprecated: true) {
        name isDeprecated } } }""")
    deprecated = {f["name"] for f in got["data"]["__type"]["fields"] if f["isDeprecated"]}
    assert deprecated == {"duration", "estDuration"}, got


async def test_every_entity_has_a_global_id_unique_across_types(client):
    c = await customer_with_journey(client, "Id")
    got = await gql(client, """query($cid: String!) { profile(customerId: $cid) { id
        services { edges { node { id states { id } tasks { id } } } }
        interactions { edges { node { id } } } } }""", {"cid": c["cid"]})
    assert "errors" not in got, got
    profile = got["data"]["profile"]
    service = profile["services"]["edges"][0]["node"]
    ids = [profile["id"], service["id"], service["states"][0]["id"], service["tasks"][0]["id"],
           profile["interactions"]["edges"][0]["node"]["id"]]
    assert len(set(ids)) == len(ids)
    assert base64.b64decode(ids[0]).decode() == f"Profile:{c['cid']}"
    assert base64.b64decode(ids[2]).decode() == f"State:{c['active']}:{c['state']}"
    again = await gql(client, "query($sid: Long!) { service(serviceId: $sid) { id } }", {"sid": c["active"]})
    assert again["data"]["service"]["id"] == service["id"]


async def _pages(client: httpx.AsyncClient, query: str, variables: dict[str, Any], path: list[str],
                 first: int) -> list[list[Any]]:
    """Every page of the connection at `path`, `first` at a time: the node ids of each page."""
    out: list[list[Any]] = []
    after = None
    while True:
        got = await gql(client, query, {**variables, "first": first, "after": after})
        assert "errors" not in got, got
        conn = got["data"]
        for key in path:
            conn = conn[key]
        out.append([next(iter(e["node"].values())) for e in conn["edges"]])
        info = conn["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if not info["hasNextPage"]:
            return out
        assert info["endCursor"] == conn["edges"][-1]["cursor"]
        after = info["endCursor"]


async def test_every_unbounded_list_has_a_connection_form(client):
    """A service's states and tasks, a state's tasks, a customer's services without a profile and the anonymous
    services of a contact key page as connections, in start order, with the same filters as their lists."""
    sid = await start_service(client, customer_id="no-profile")
    other = await start_service(client, customer_id="no-profile", service_type=2)
    states = [await start_state(client, sid) for _ in range(3)]
    tasks = [await start_task(client, sid, state_id=states[1]) for _ in range(3)]
    tasks.append(await start_task(client, sid))
    assert (await client.post(f"/services/{sid}/tasks/{tasks[0]}/end", json={})).status_code == 204
    anonymous = [await start_service(client, contact_key="ck-pages") for _ in range(3)]
    paging = f"first: $first, after: $after) {{ edges {{ cursor node {{ %s }} }} {PAGE} }}"
    args = "$first: Int, $after: String"
    service = f"query($s: Long!, {args}) {{ service(serviceId: $s) {{ %s(%s {paging} }} }}"

    got = await _pages(client, service % ("stateConnection", "", "stateId"), {"s": sid}, ["service", "stateConnection"], 2)
    assert got == [states[:2], states[2:]]
    got = await _pages(client, service % ("taskConnection", "", "taskId"), {"s": sid}, ["service", "taskConnection"], 3)
    assert got == [tasks[:3], tasks[3:]]
    got = await _pages(client, service % ("taskConnection", "status: ACTIVE, ", "taskId"), {"s": sid},
                       ["service", "taskConnection"], 2)
    assert got == [tasks[1:3], tasks[3:]]
    got = await _pages(client, service % ("taskConnection", f"stateId: {states[1]}, ", "taskId"), {"s": sid},
                       ["service", "taskConnection"], 5)
    assert got == [tasks[:3]]
    state = (f"query($s: Long!, $st: Int!, {args}) {{ state(serviceId: $s, stateId: $st) {{ "
             f"taskConnection({paging} }} }}") % "taskId"
    got = await _pages(client, state, {"s": sid, "st": states[1]}, ["state", "taskConnection"], 2)
    assert got == [tasks[:2], tasks[2:3]]
    root = f"query($k: String!, {args}) {{ %s(%s: $k, {paging} }}" % ("%s", "%s", "serviceId")
    got = await _pages(client, root % ("anonymousServiceConnection", "contactKey"), {"k": "ck-pages"},
                       ["anonymousServiceConnection"], 2)
    assert got == [anonymous[:2], anonymous[2:]]
    got = await _pages(client, root % ("customerServiceConnection", "customerId"), {"k": "no-profile"},
                       ["customerServiceConnection"], 1)
    assert got == [[sid], [other]]
    got = await gql(client, """{ customerServiceConnection(customerId: "no-profile", serviceTypes: [2]) {
        edges { node { serviceId } } } }""")
    assert got["data"]["customerServiceConnection"]["edges"] == [{"node": {"serviceId": other}}]
    # The page size is bounded, and a cursor of another list is refused, as on every connection.
    stale = await gql(client, root % ("anonymousServiceConnection", "contactKey"), {"k": "ck-pages", "first": 1})
    cursor = stale["data"]["anonymousServiceConnection"]["edges"][0]["cursor"]
    for variables in ({"first": 101}, {"first": -1}, {"after": cursor}):
        got = await gql(client, service % ("stateConnection", "", "stateId"), {"s": sid, **variables})
        assert error_code(got) == "BAD_PARAMETER", (variables, got)


async def test_the_connections_of_many_services_cost_the_statements_of_one(client):
    query = """query($c: String!) { customerServiceConnection(customerId: $c) { edges { node { serviceId
        stateConnection(first: 2) { edges { node { stateId taskConnection(first: 2) { edges { node { taskId } } } } } }
        taskConnection(first: 2) { edges { node { taskId } } } } } } }"""
    counts = []
    for customer, services in (("one", 1), ("three", 3)):
        for _ in range(services):
            sid = await start_service(client, customer_id=customer)
            state = await start_state(client, sid)
            await start_task(client, sid, state_id=state)
        seen = count_statements(client)
        got = await gql(client, query, {"c": customer})
        assert "errors" not in got, got
        edges = got["data"]["customerServiceConnection"]["edges"]
        assert len(edges) == services
        assert all(len(e["node"]["stateConnection"]["edges"][0]["node"]["taskConnection"]["edges"]) == 1 for e in edges)
        counts.append(data_statements(seen))
    assert counts[0] == counts[1], counts
