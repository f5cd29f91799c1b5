"""GraphQL over HTTP on /graphql: the answer's media type follows Accept, request errors carry no data (4xx
under application/graphql-response+json, 200 under application/json), and every refusal is a JSON GraphQL
error with a code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

GQL_RESPONSE = "application/graphql-response+json"
STATUS = "{ serverStatus { mode } }"


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The GraphQL error of a refusal, after checking its status, media type, code and the absent data."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(("application/json", GQL_RESPONSE))
    body: dict[str, Any] = response.json()
    assert "data" not in body, body
    assert body["errors"][0]["extensions"]["code"] == code, body
    assert body["errors"][0]["message"]
    return body


async def test_graphql_response_json_is_answered_when_asked_for(client):
    for accept in (GQL_RESPONSE, f"{GQL_RESPONSE}, application/json;q=0.9"):
        r = await client.post("/graphql", json={"query": STATUS}, headers={"accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == GQL_RESPONSE
        assert r.json() == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}
    for headers in ({}, {"accept": "application/json"}, {"accept": "*/*"},
                    {"accept": f"application/json, {GQL_RESPONSE};q=0.5"}):
        r = await client.post("/graphql", json={"query": STATUS}, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", headers


@pytest.mark.parametrize(("body", "code"), [
    ({"query": "{ serverStatus { mode "}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query Q($n: String!) { identificationKey(name: $n) { name } }", "variables": {"n": None}},
     "BAD_PARAMETER"),
])
async def test_request_errors_are_400_under_graphql_response_json_and_200_under_json(client, body, code):
    refusal(await client.post("/graphql", json=body, headers={"accept": GQL_RESPONSE}), 400, code)
    refusal(await client.post("/graphql", json=body, headers={"accept": "application/json"}), 200, code)
    refusal(await client.post("/graphql", json=body), 200, code)


async def test_a_field_error_keeps_its_data_key_and_200_under_both_media_types(client):
    query = '{ serverStatus { mode } identificationKey(name: "nope") { name } }'
    for accept in (GQL_RESPONSE, "application/json"):
        r = await client.post("/graphql", json={"query": query}, headers={"accept": accept})
        body = r.json()
        assert r.status_code == 200 and "data" in body, body
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND" and body["errors"][0]["path"]


@pytest.mark.parametrize("accept", [GQL_RESPONSE, "application/json"])
@pytest.mark.parametrize("body", [
    b"{not json", b"", b"   ", b"42", b'"x"', b"null",
    b'{"qeury": "{ __typename }"}', b'{"query": ""}', b'{"query": 5}', b'{"query": ["{ __typename }"]}',
    b'{"query": "{ __typename }", "variables": "x"}', b'{"query": "{ __typename }", "variables": []}',
    b'{"query": "{ __typename }", "operationName": 0}', b'{"query": "{ __typename }", "extensions": false}',
    b'{"query": "query A { __typename }", "operationName": "B"}',
])
async def test_malformed_requests_are_400_graphql_errors(client, accept, body):
    r = await client.post("/graphql", content=body, headers={"content-type": "application/json", "accept": accept})
    refusal(r, 400, "BAD_REQUEST")


@pytest.mark.parametrize("ctype", [None, "application/graphql", "text/plain", "application/x-www-form-urlencoded",
                                   "application/json; charset=latin-1"])
async def test_other_media_types_are_415_graphql_errors(client, ctype):
    headers = {"content-type": ctype} if ctype else {}
    r = await client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    body = refusal(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in body["errors"][0]["message"]


async def test_a_utf8_charset_is_accepted(client):
    r = await client.post("/graphql", content=b'{"query": "{ __typename }"}',
                          headers={"content-type": "application/json; charset=UTF-8"})
    assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}


async def test_get_runs_queries_and_refuses_mutations_with_405(client):
    r = await client.get("/graphql", params={"query": "query Q($n: String!) { identificationKey(name: $n) { name } }",
                                             "variables": '{"n": "nope"}', "operationName": "Q"})
    assert r.status_code == 200 and r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await client.get("/graphql", params={"query": STATUS})).json() == {
        "data": {"serverStatus": {"mode": "PRODUCTION"}}}
    mutation = "mutation { setServerMode(mode: PRODUCTION) }"
    for accept in (GQL_RESPONSE, "application/json"):
        r = await client.get("/graphql", params={"query": mutation}, headers={"accept": accept})
        refusal(r, 405, "METHOD_NOT_ALLOWED")
        assert r.headers["allow"] == "POST"
    assert (await client.post("/graphql", json={"query": mutation})).json() == {"data": {"setServerMode": "PRODUCTION"}}


@pytest.mark.parametrize("params", [{}, {"operationName": "Q"}, {"query": STATUS, "variables": "[1]"},
                                    {"query": STATUS, "variables": "{no"}, {"query": STATUS, "extensions": "1"}])
async def test_a_get_without_a_usable_query_from_a_client_is_a_400(client, params):
    for accept in ("application/json", "*/*", GQL_RESPONSE):
        refusal(await client.get("/graphql", params=params, headers={"accept": accept}), 400, "BAD_REQUEST")


async def test_a_repeated_get_parameter_is_a_400(client):
    r = await client.get(f"/graphql?query={STATUS}&query={STATUS}")
    refusal(r, 400, "BAD_REQUEST")


async def test_subscriptions_by_get_or_post_are_400(client):
    subscription = "subscription { journeyEvents { kind } }"
    for accept in (GQL_RESPONSE, "application/json"):
        body = refusal(await client.post("/graphql", json={"query": subscription}, headers={"accept": accept}),
                       400, "BAD_REQUEST")
        assert "WebSocket" in body["errors"][0]["message"]
        refusal(await client.get("/graphql", params={"query": subscription}, headers={"accept": accept}),
                400, "BAD_REQUEST")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_graphql_errors(client, method):
    r = await client.request(method, "/graphql", json={"query": STATUS})
    refusal(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "GET, POST"


async def test_front_door_refusals_on_graphql_have_no_data(make_client):
    client = await make_client()
    r = await client.post("/graphql", json={"query": STATUS}, headers={"x-genesys-tenantid": "x"})
    refusal(r, 400, "BAD_PARAMETER")


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}


async def test_automatic_persisted_queries_as_apollo_client_sends_them(client):
    query = "query Apq { serverStatus { mode } }"
    # The hash alone: unknown, so the client sends it again with the text.
    miss = await client.post("/graphql", json={"extensions": apq(query), "operationName": "Apq"})
    assert miss.status_code == 200
    assert miss.json() == {"errors": [{"message": "PersistedQueryNotFound", "extensions": {
        "code": "PERSISTED_QUERY_NOT_FOUND", "status": 200, "ucs_code": 4042}}]}
    got = await client.post("/graphql", json={"query": query, "extensions": apq(query)})
    assert got.json() == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}
    # Now the hash is enough, by POST and by GET (Apollo's useGETForHashedQueries).
    assert (await client.post("/graphql", json={"extensions": apq(query)})).json() == got.json()
    r = await client.get("/graphql", params={"extensions": json.dumps(apq(query)), "operationName": "Apq"})
    assert r.status_code == 200 and r.json() == got.json()


async def test_a_persisted_query_hash_must_match_its_text(client):
    query = "{ serverStatus { mode } }"
    body = {"query": query, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(query + " ")}}}
    for accept in (GQL_RESPONSE, "application/json"):
        refusal(await client.post("/graphql", json=body, headers={"accept": accept}), 400, "BAD_REQUEST")
    # Nothing was stored under the wrong hash.
    r = await client.post("/graphql", json={"extensions": body["extensions"]})
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    for bad in ({"version": 2, "sha256Hash": sha(query)}, {"version": 1, "sha256Hash": "abc"}, "x"):
        refusal(await client.post("/graphql", json={"extensions": {"persistedQuery": bad}}), 400, "BAD_REQUEST")


async def test_persisted_documents_pass_the_same_limits(make_client):
    client = await make_client(graphql_max_depth=2)
    deep = "{ profiles(customerIds: [\"a\"]) { attributes { name } } }"
    first = await client.post("/graphql", json={"query": deep, "extensions": apq(deep)})
    assert first.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    again = await client.post("/graphql", json={"extensions": apq(deep)})
    assert again.json() == first.json()


async def test_persisted_documents_are_bounded_in_bytes(make_client):
    client = await make_client(graphql_persisted_queries_bytes=2000)
    queries = [f"query Q{i} {{ serverStatus {{ mode }} }}" for i in range(40)]
    for query in queries:
        assert "errors" not in (await client.post("/graphql", json={"query": query, "extensions": apq(query)})).json()
    hits = [(await client.post("/graphql", json={"extensions": apq(q)})).json() for q in queries]
    kept = [h for h in hits if "data" in h]
    # The most recent documents are kept, the oldest dropped: a few hundred bytes each, 2,000 bytes in all.
    assert 0 < len(kept) <= 10 and "data" in hits[-1] and "errors" in hits[0]


async def test_a_batch_is_answered_with_an_array_of_results_in_order(client):
    start = "mutation($c: String!) { startService(input: {serviceType: 1, customerId: $c}) { serviceId } }"
    batch = [
        {"query": start, "variables": {"c": "B1"}},
        {"query": "query($c: String!) { customerServices(customerId: $c) { serviceId } }", "variables": {"c": "B1"}},
        {"query": "{ nope }"},
        {"query": 7},
        {"extensions": apq("{ __typename }")},
    ]
    r = await client.post("/graphql", json=batch)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out) == 5
    started = out[0]["data"]["startService"]["serviceId"]
    # The mutation ran before the query that follows it.
    assert [s["serviceId"] for s in out[1]["data"]["customerServices"]] == [started]
    assert out[2]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and "data" not in out[2]
    assert out[3]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert out[4]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_batch_is_bounded(make_client):
    client = await make_client(graphql_max_batch=3)
    ok = await client.post("/graphql", json=[{"query": STATUS}] * 3)
    assert ok.status_code == 200 and len(ok.json()) == 3
    body = refusal(await client.post("/graphql", json=[{"query": STATUS}] * 4), 400, "BAD_REQUEST")
    assert "graphql_max_batch" in body["errors"][0]["message"]
    refusal(await client.post("/graphql", json=[]), 400, "BAD_REQUEST")
