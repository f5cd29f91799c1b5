"""Interaction queries (CV.WS.IXN.2) and their content, over REST and GraphQL; tenants isolate them."""

from __future__ import annotations

import base64

import pytest

from tests.helpers import assert_error, error_code, gql, set_mode
from tests.test_interactions import body
from ucs_graphql.interactions import store


async def ingest(client, entity_type=2, headers=None, **extra) -> str:
    resp = await client.post("/interactions", json=body(entity_type, **extra), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["interaction_id"]


async def test_customer_interactions_oldest_first_without_content(client):
    late = await ingest(client, customer_id="C1", start_date="2021-01-02T00:00:00Z", text="later")
    early = await ingest(client, 3, customer_id="C1", start_date="2021-01-01T00:00:00Z")
    await ingest(client, customer_id="C2")
    got = (await client.get("/customers/C1/interactions")).json()
    assert [i["interaction_id"] for i in got] == [early, late]
    assert got[1]["text"] == f"http://testserver/interactions/{late}/plain_text"
    assert "text" not in got[0]
    assert (await client.get("/customers/nobody/interactions")).json() == []


async def test_service_interactions_by_service_id(client):
    a = await ingest(client, service_id=7, start_date="2021-01-02T00:00:00Z")
    b = await ingest(client, 5, service_id=7, start_date="2021-01-01T00:00:00Z")
    await ingest(client, service_id=8)
    await ingest(client)
    got = (await client.get("/services/7/interactions")).json()
    assert [(i["interaction_id"], i["service_id"]) for i in got] == [(b, 7), (a, 7)]
    assert (await client.get("/services/9/interactions")).json() == []
    assert_error(await client.get("/services/x/interactions"), 404, 4041)


async def test_service_link_includes_interactions_named_by_events(client):
    started = await client.post("/services/start", json={"service_type": 1, "contact_key": "ck",
                                                          "interaction_id": "ix-start"})
    sid = started.json()["service_id"]
    state = await client.post(f"/services/{sid}/states/start", json={"state_type": 1, "interaction_id": "ix-state"})
    task = await client.post(f"/services/{sid}/tasks/start", json={"task_type": 1})
    tid = task.json()["task_id"]
    assert (await client.post(f"/services/{sid}/tasks/{tid}/end", json={"interaction_id": "ix-task-end"})).status_code == 204
    assert state.status_code == 201
    for iid, date in (("ix-start", "2001-01-04"), ("ix-state", "2001-01-03"), ("ix-task-end", "2001-01-02"),
                      ("ix-other", "2001-01-01")):
        await ingest(client, interaction_id=iid, start_date=f"{date}T00:00:00Z")
    own = await ingest(client, service_id=sid, start_date="2000-01-01T00:00:00Z")
    got = (await client.get(f"/services/{sid}/interactions")).json()
    assert [i["interaction_id"] for i in got] == [own, "ix-task-end", "ix-state", "ix-start"]


async def test_unknown_interaction_and_missing_content_are_404(client):
    iid = await ingest(client)
    assert_error(await client.get("/interactions/nope"), 404, 4040, "'nope' does not exist")
    assert_error(await client.get("/interactions/nope/plain_text"), 404, 4040, "'nope' does not exist")
    for part, words in (("plain_text", "plain text"), ("structured_text", "structured text"),
                        ("binary_content", "binary content")):
        assert_error(await client.get(f"/interactions/{iid}/{part}"), 404, 4040, f"has no {words}")
    assert_error(await client.post(f"/interactions/{iid}"), 405, 4050)


async def test_urls_follow_base_path_and_escape_ids(make_client):
    client = await make_client(base_path="/cv")
    iid = await ingest(client, interaction_id="call:1@sw", text="hi")
    got = (await client.get("/cv/interactions/call:1@sw")).json()
    assert got["text"] == "http://testserver/cv/interactions/call%3A1%40sw/plain_text"
    assert (await client.get("/cv/interactions/call%3A1%40sw/plain_text")).text == "hi"
    assert iid == "call:1@sw"


async def test_tenants_do_not_see_each_others_interactions(client):
    t2 = {"X-Genesys-TenantId": "2"}
    iid = await ingest(client, interaction_id="shared-id", customer_id="C1", service_id=1, text="tenant 1")
    assert_error(await client.get(f"/interactions/{iid}", headers=t2), 404, 4040)
    assert_error(await client.get(f"/interactions/{iid}/plain_text", headers=t2), 404, 4040)
    assert (await client.get("/customers/C1/interactions", headers=t2)).json() == []
    assert (await client.get("/services/1/interactions", headers=t2)).json() == []
    # The same id is free in another tenant, and each tenant reads its own.
    await ingest(client, interaction_id="shared-id", customer_id="C1", headers=t2, text="tenant 2")
    assert (await client.get("/interactions/shared-id/plain_text", headers=t2)).text == "tenant 2"
    assert (await client.get("/interactions/shared-id/plain_text")).text == "tenant 1"
    r = await gql(client, '{ interaction(interactionId: "shared-id") { text } }', headers=t2)
    assert r["data"]["interaction"]["text"] == "tenant 2"


FIELDS = """
  __typename interactionId customerId serviceId entityType status type mediaType startDate allowChildren udata
  structuredTextMime binaryContentMime binaryContentSize textUrl structuredTextUrl binaryContentUrl
  ... on EmailOutInteraction { from { address personal } to { address } bcc { address } referenceId }
  ... on ChatInteraction { establishedDate releasedDate }
  ... on PhoneCallInteraction { duration phoneNumber }
  ... on CallbackInteraction { desiredResponseType startTime customerNumber attempts callResult }
"""


async def test_graphql_mutation_and_queries_mirror_rest(client):
    created = await gql(client, f"""mutation($i: JSON!) {{ createInteraction(interaction: $i) {{ {FIELDS} }} }}""",
                        {"i": body(1, interaction_id="mail-1", service_id=4, udata={"k": "v"})})
    out = created["data"]["createInteraction"]
    assert out["__typename"] == "EmailOutInteraction" and out["interactionId"] == "mail-1"
    assert out["from"] == {"address": "jane@example.com", "personal": "Jane Doe"}
    assert out["bcc"] == [{"address": "b@example.com"}] and out["referenceId"] == 12
    assert out["udata"] == {"k": "v"} and out["allowChildren"] is True and out["textUrl"] is None
    await ingest(client, 5, customer_id="00001a57JGQ00BVU", interaction_id="cb-1",
                 start_date="2000-01-01T00:00:00Z")
    await ingest(client, 3, interaction_id="call-1", service_id=4, start_date="2030-01-01T00:00:00Z")
    r = await gql(client, f"""{{ customerInteractions(customerId: "00001a57JGQ00BVU", limit: 2) {{ {FIELDS} }}
                                 serviceInteractions(serviceId: 4) {{ interactionId }}
                                 one: interaction(interactionId: "cb-1") {{ {FIELDS} }} }}""")
    assert "errors" not in r, r
    customer = r["data"]["customerInteractions"]
    assert [(i["__typename"], i["interactionId"]) for i in customer] == [
        ("CallbackInteraction", "cb-1"), ("EmailOutInteraction", "mail-1")]
    assert customer[0]["desiredResponseType"] == "Voice" and customer[0]["callResult"] == 53
    assert [i["interactionId"] for i in r["data"]["serviceInteractions"]] == ["mail-1", "call-1"]
    rest = (await client.get("/interactions/cb-1")).json()
    assert r["data"]["one"]["startTime"] == rest["start_time"]
    assert r["data"]["one"]["customerNumber"] == rest["customer_number"]
    page = await gql(client, '{ customerInteractions(customerId: "00001a57JGQ00BVU", offset: 1, limit: 1) { interactionId } }')
    assert page["data"]["customerInteractions"] == [{"interactionId": "mail-1"}]


async def test_graphql_content_is_loaded_lazily_and_batched(client, monkeypatch):
    blob = b"\x00\x01binary"
    for n in range(3):
        await ingest(client, customer_id="L", interaction_id=f"l{n}", text=f"text {n}",
                     structured_text=f"<p>{n}</p>", structured_text_mime="text/html",
                     binary_content=base64.b64encode(blob).decode(), binary_content_mime="image/png")
    await ingest(client, customer_id="L", interaction_id="l9", start_date="2099-01-01T00:00:00Z")
    calls: list[tuple[str, list[str]]] = []
    real = store.get_contents

    async def counting(conn, tenant, part, ids):
        calls.append((part, sorted(ids)))
        return await real(conn, tenant, part, ids)

    monkeypatch.setattr(store, "get_contents", counting)
    r = await gql(client, '{ customerInteractions(customerId: "L") { interactionId textUrl binaryContentSize } }')
    assert len(r["data"]["customerInteractions"]) == 4 and calls == []
    r = await gql(client, '{ customerInteractions(customerId: "L") { text structuredText binaryContent } }')
    assert "errors" not in r, r
    got = r["data"]["customerInteractions"]
    assert got[0] == {"text": "text 0", "structuredText": "<p>0</p>",
                      "binaryContent": base64.b64encode(blob).decode()}
    assert got[3] == {"text": None, "structuredText": None, "binaryContent": None}
    assert sorted(calls) == [(p, ["l0", "l1", "l2"]) for p in ("binary_content", "plain_text", "structured_text")]


async def test_graphql_errors_carry_the_kinds(client):
    r = await gql(client, '{ interaction(interactionId: "none") { interactionId } }')
    assert error_code(r) == "NOT_FOUND"
    r = await gql(client, "mutation($i: JSON!) { createInteraction(interaction: $i) { interactionId } }",
                  {"i": body(5, attempts=None)})
    assert error_code(r) == "BAD_PARAMETER" and "'attempts'" in r["errors"][0]["message"]
    await ingest(client, interaction_id="dup")
    r = await gql(client, "mutation($i: JSON!) { createInteraction(interaction: $i) { interactionId } }",
                  {"i": body(2, interaction_id="dup")})
    assert error_code(r) == "ALREADY_EXISTS"
    r = await gql(client, '{ customerInteractions(customerId: "c", limit: 5000) { interactionId } }')
    assert error_code(r) == "BAD_PARAMETER"
    await set_mode(client, "maintenance")
    r = await gql(client, '{ customerInteractions(customerId: "c") { interactionId } }')
    assert error_code(r) == "MODE_FORBIDDEN"


@pytest.mark.parametrize("path", ["/interactions/x", "/customers/00001a57JGQ00BVU/interactions",
                                  "/services/1/interactions"])
async def test_query_paths_accept_a_trailing_slash(client, path):
    await ingest(client, interaction_id="x", service_id=1)
    resp = await client.get(path + "/")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert [i["interaction_id"] for i in (got if isinstance(got, list) else [got])] == ["x"]
