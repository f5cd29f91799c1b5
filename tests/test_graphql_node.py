"""`node(id:)` and `nodes(ids:)` over GraphQL over HTTP: every object's global id reads it again, through the
same loaders and the same access rules as the fields that lead to it; unknown ids are null, malformed ones
the client's BAD_PARAMETER, another tenant's objects are not found."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from graphql import parse

from tests.helpers import error_code, gql
from tests.profile_fixtures import count_statements, data_statements
from tests.test_access_reach import as_user, config, refused
from tests.test_graphql_graph import customer_with_journey
from ucs_graphql.access import tasks as t
from ucs_graphql.graphql.limits import measure
from ucs_graphql.graphql.schema import build_schema

EVERY = """id __typename
  ... on Profile { customerId }
  ... on Service { serviceId owner: customerId }
  ... on State { stateId serviceId }
  ... on Task { taskId within: stateId serviceId }
  ... on Interaction { interactionId customerId }"""
IDS = """query($cid: String!, $ixn: String!) {
  profile(customerId: $cid) { id services { edges { node { id states { id } tasks { id } } } } }
  interaction(interactionId: $ixn) { id } }"""


def gid(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def objects(client: httpx.AsyncClient, c: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Type name → (global id read through other fields, what `node` must answer for it)."""
    got = await gql(client, IDS, {"cid": c["cid"], "ixn": c["old"]})
    assert "errors" not in got, got
    profile = got["data"]["profile"]
    service = next(e["node"] for e in profile["services"]["edges"] if e["node"]["states"])
    return {
        "Profile": (profile["id"], {"__typename": "Profile", "customerId": c["cid"]}),
        "Service": (service["id"], {"__typename": "Service", "serviceId": c["active"], "owner": c["cid"]}),
        "State": (service["states"][0]["id"], {"__typename": "State", "stateId": c["state"],
                                              "serviceId": c["active"]}),
        "Task": (service["tasks"][0]["id"], {"__typename": "Task", "taskId": c["task"], "within": c["state"],
                                             "serviceId": c["active"]}),
        "Interaction": (got["data"]["interaction"]["id"], {"__typename": "ChatInteraction",
                                                           "interactionId": c["old"], "customerId": c["cid"]}),
    }


async def test_node_reads_every_type_again_by_the_id_other_fields_answer(client):
    c = await customer_with_journey(client, "Ann")
    found = await objects(client, c)
    for type_name, (global_id, expected) in found.items():
        got = await gql(client, f"query($id: ID!) {{ node(id: $id) {{ {EVERY} }} }}", {"id": global_id})
        assert got == {"data": {"node": {"id": global_id, **expected}}}, (type_name, got)
    ids = [global_id for global_id, _ in found.values()]
    got = await gql(client, f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {EVERY} }} }}",
                    {"ids": [*ids, gid("Profile:nobody"), ids[0]]})
    assert got == {"data": {"nodes": [{"id": i, **e} for i, e in found.values()]
                            + [None, {"id": ids[0], **found["Profile"][1]}]}}, got
    # An inline fragment on the type reaches its edges as the type's own root field does.
    got = await gql(client, "query($id: ID!) { node(id: $id) { ... on Profile { attributes "
                            "activeServices { edges { node { serviceId } } } } } }", {"id": found["Profile"][0]})
    assert got["data"]["node"] == {"attributes": {"FirstName": "Ann"},
                                   "activeServices": {"edges": [{"node": {"serviceId": c["active"]}}]}}


async def test_unknown_ids_are_null_and_malformed_ones_bad_parameters(client):
    c = await customer_with_journey(client, "Ann")
    other = await customer_with_journey(client, "Bob")
    unknown = [gid("Profile:nobody"), gid("Service:999999"), gid("Interaction:nope"),
               # a state and a task of another service than the one their id names
               gid(f"State:{other['active']}:{c['state']}"), gid(f"Task:{other['active']}:{c['task']}")]
    for global_id in unknown:
        got = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
        assert got == {"data": {"node": None}}, (base64.b64decode(global_id), got)
    cursor = (await gql(client, "query($cid: String!) { profile(customerId: $cid) { services(first: 1) { "
                                "edges { cursor } } } }", {"cid": c["cid"]}))["data"]["profile"]["services"]["edges"][0]["cursor"]
    malformed = ["", "nope", gid("Nothing:1"), gid("Service:x"), gid("Service:01"), gid("Service:1:2"),
                 gid("State:1"), gid(f"Service:{2**63}"), gid("Task:1:2147483648"), gid("Service: 1"),
                 gid("Service:12").rstrip("="), cursor]
    for global_id in malformed:
        for query, variables in (("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}),
                                 ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                                  {"ids": [gid("Profile:nobody"), global_id]})):
            got = await gql(client, query, variables)
            assert error_code(got) == "BAD_PARAMETER", (global_id, got)
            assert "is not the id of any object" in got["errors"][0]["message"]
    got = await gql(client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                    {"ids": [gid("Profile:nobody")] * 101})
    assert error_code(got) == "BAD_PARAMETER" and "at most 100" in got["errors"][0]["message"], got
    assert await gql(client, "{ nodes(ids: []) { id } }") == {"data": {"nodes": []}}


async def test_another_tenants_objects_are_not_found(client):
    c = await customer_with_journey(client, "Ann")
    found = await objects(client, c)
    other_tenant = {"X-Genesys-TenantId": "2"}
    for global_id, _ in found.values():
        got = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, headers=other_tenant)
        assert got == {"data": {"node": None}}, got


async def test_nodes_read_each_type_in_one_batch(client):
    """As many reads for 2 objects of each type as for 1: the loaders batch the ids of a type."""
    seen = count_statements(client)
    counts, ids = [], []
    for name in ("Ann", "Bob"):
        c = await customer_with_journey(client, name)
        ids += [global_id for global_id, _ in (await objects(client, c)).values()]
        seen.clear()
        got = await gql(client, f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {EVERY} }} }}", {"ids": ids})
        assert "errors" not in got and len(got["data"]["nodes"]) == len(ids) and all(got["data"]["nodes"])
        counts.append(data_statements(seen))
    assert counts[0] == counts[1], counts


NODE_USERS = {"profiles": [t.READ_PROFILE], "services": [t.READ_SERVICE], "states": [t.READ_STATE],
              "tasks": [t.READ_TASK], "interactions": [t.READ_INTERACTION], "writer": [t.START_SERVICE],
              "root": sorted(t.ALL_TASKS)}
NEEDS = {"Profile": "profiles", "Service": "services", "State": "states", "Task": "tasks",
         "Interaction": "interactions"}


async def test_node_needs_the_read_task_of_the_type_its_id_names(make_client):
    client = await make_client(config_text=config(NODE_USERS))
    client.headers.update(as_user("root"))
    c = await customer_with_journey(client, "Ann")
    found = await objects(client, c)
    query = "query($id: ID!) { node(id: $id) { id } }"
    for type_name, (global_id, _) in found.items():
        for user in NODE_USERS:
            body = (await client.post("/graphql", json={"query": query, "variables": {"id": global_id}},
                                      headers=as_user(user))).json()
            if user in (NEEDS[type_name], "root"):
                assert body == {"data": {"node": {"id": global_id}}}, (type_name, user, body)
            else:
                assert refused(body) == {"Query.node"}, (type_name, user, body)
        # An unknown id of the type needs the task too: whether it exists is the type's data.
        unknown = gid(f"{type_name}:{'9' * 9}" + (":9" if type_name in ("State", "Task") else ""))
        body = (await client.post("/graphql", json={"query": query, "variables": {"id": unknown}},
                                  headers=as_user("writer"))).json()
        assert refused(body) == {"Query.node"}, body
    # nodes needs the task of every type its ids name, and names the field once per missing task.
    ids = [found["Profile"][0], found["Service"][0]]
    body = (await client.post("/graphql", json={"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                                                "variables": {"ids": ids}}, headers=as_user("profiles"))).json()
    assert refused(body) == {"Query.nodes"} and t.READ_SERVICE in body["errors"][0]["message"], body
    # A malformed id is the client's error, whoever asks.
    body = (await client.post("/graphql", json={"query": query, "variables": {"id": "nope"}},
                              headers=as_user("writer"))).json()
    assert error_code(body) == "BAD_PARAMETER", body
    anonymous = await client.post("/graphql", json={"query": query, "variables": {"id": found["Profile"][0]}},
                                  headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_fields_below_node_follow_the_rules_of_their_type(make_client):
    client = await make_client(config_text=config(NODE_USERS))
    client.headers.update(as_user("root"))
    c = await customer_with_journey(client, "Ann")
    found = await objects(client, c)
    profile, service = found["Profile"][0], found["Service"][0]
    every = """query($id: ID!) { node(id: $id) { id ... on Profile { attributes
        services { edges { node { serviceId } } } } ...S } }
      fragment S on Service { extensions states { extensions } customer { attributes } }"""
    # A fragment on a type the id does not name is never run, and needs nothing.
    body = await gql(client, every, {"id": profile}, headers=as_user("profiles"))
    assert refused(body) == {"Profile.services"}, body
    body = await gql(client, every, {"id": service}, headers=as_user("services"))
    assert refused(body) == {"State.extensions", "Service.customer", "Profile.attributes"}, body
    body = await gql(client, every, {"id": service}, headers=as_user("root"))
    assert body["data"]["node"]["customer"] == {"attributes": {"FirstName": "Ann"}}, body
    # With a literal id the rules are read from the document alone; a variable one, from each request.
    body = await gql(client, every.replace("query($id: ID!)", "query").replace("$id", f'"{profile}"'),
                     headers=as_user("profiles"))
    assert refused(body) == {"Profile.services"}, body


def test_the_cost_of_nodes_counts_its_ids():
    schema = build_schema()._schema
    three = measure(schema, parse('{ nodes(ids: ["a", "b", "c"]) { id } }'), 10).operations[None]
    assert three.cost == 1 + 3 * 1  # the field, and the id of each of its 3 items
    given = parse("query($ids: [ID!]!) { nodes(ids: $ids) { id } }")
    assert measure(schema, given, 10, {"ids": ["a"] * 50}).operations[None].cost == 1 + 50 * 1
