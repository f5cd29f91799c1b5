"""What a GraphQL document may ask for: fragment bombs are refused from figures computed once per fragment,
before graphql-core's validation sees them; documents, variables and their lists are bounded; an operation's
cost is limited, with list sizes from first/limit and id-list arguments; caches keep a bounded weight."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from types import SimpleNamespace
from typing import Any

import pytest
import websockets
from graphql import get_introspection_query, parse

from ucs_graphql.config import Settings
from ucs_graphql.graphql import compiled, limits
from ucs_graphql.graphql import schema as schema_module
from ucs_graphql.graphql.schema import build_schema, entry_weight

from .helpers import error_code, gql
from .profile_fixtures import BRUCE, PHONE, create, define
from .test_subscriptions import SUBSCRIPTION, served_app

ID_EMAIL = {"name": "idEmail", "attributes": ["EmailAddress"], "unique": True, "normalize": "email"}


def fragment_bomb(width: int, depth: int) -> str:
    """`query { ...F0 }` and `fragment Fi on Query { serverStatus { mode } ...Fi+1 (width times) }`."""
    frags = []
    for i in range(depth):
        spreads = " ".join(f"...F{i + 1}" for _ in range(width)) if i + 1 < depth else ""
        frags.append(f"fragment F{i} on Query {{ serverStatus {{ mode }} {spreads} }}")
    return "query { ...F0 } " + " ".join(frags)


def bomb_selections(width: int, depth: int) -> tuple[int, int]:
    """The expanded selections of the bomb's operation (its spread of F0 and F0 expanded), and of the whole
    document (the operation and every fragment, as validation would walk them)."""
    expanded = 2  # the last fragment: serverStatus { mode }
    total = expanded
    for _ in range(depth - 1):
        expanded = 2 + width * (1 + expanded)
        total += expanded
    return 1 + expanded, total + 1 + expanded


class ValidationCounter:
    """Counts the documents graphql-core's validation is given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen = 0
        real = schema_module.validate_document

        def counted(*args: Any) -> Any:
            self.seen += 1
            return real(*args)

        monkeypatch.setattr(schema_module, "validate_document", counted)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> ValidationCounter:
    return ValidationCounter(monkeypatch)


# --- fragment bombs ---

@pytest.mark.parametrize("width, depth", [(6, 8), (20, 10)])
async def test_fragment_bombs_are_refused_before_validation(client, validations, width, depth):
    query = fragment_bomb(width, depth)
    body = await gql(client, query)
    assert error_code(body) == "LIMIT_EXCEEDED"
    assert body["errors"][0]["extensions"]["ucs_code"] == 4001
    assert f"selects {bomb_selections(width, depth)[1]} fields and fragments" in body["errors"][0]["message"]
    assert validations.seen == 0  # graphql-core's rules never saw it
    # The server goes on serving: another client's request is answered, and the same bomb again is refused.
    assert (await gql(client, "{ serverStatus { mode } }"))["data"]["serverStatus"]["mode"] == "PRODUCTION"
    assert (await client.get("/healthz")).status_code == 200
    assert error_code(await gql(client, query)) == "LIMIT_EXCEEDED"


def test_each_fragment_is_measured_once(monkeypatch):
    walked: list[int] = []
    real = limits._Measurer._selection_set

    def counted(self: Any, selection_set: Any, parent: Any) -> Any:
        walked.append(len(selection_set.selections))
        return real(self, selection_set, parent)

    monkeypatch.setattr(limits._Measurer, "_selection_set", counted)
    schema = build_schema()._schema
    for width, depth in [(6, 8), (20, 10), (30, 60)]:
        walked.clear()
        found = limits.measure(schema, parse(fragment_bomb(width, depth)), 10)
        assert len(walked) == depth + 1  # each fragment once, and the operation
        operation, document = bomb_selections(width, depth)
        assert found.operations[None].selections == min(operation, limits.CAP)
        assert found.selections == min(document, limits.CAP)
        assert found.operations[None].depth == 1


async def test_fragment_cycles_do_not_loop(client, validations):
    body = await gql(client, "query { ...A } fragment A on Query { serverStatus { mode } ...B } "
                             "fragment B on Query { ...A }")
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "A" in body["errors"][0]["message"]
    assert validations.seen == 1  # a small document: validation says why


async def test_depth_and_aliases_count_through_fragments(make_client):
    client = await make_client(graphql_max_depth=1, graphql_max_aliases=3)
    deep = ("query { ...A } fragment A on Query { extensionSchemas(level: PROFILE) { ...B } } "
            "fragment B on ExtensionSchema { attributes { name } }")
    body = await gql(client, deep)
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "depth of 1" in body["errors"][0]["message"]
    aliased = "query { ...A ...A } fragment A on Query { a: serverStatus { mode } b: serverStatus { mode } }"
    body = await gql(client, aliased)
    assert body["errors"][0]["message"] == "4 aliases found. Allowed: 3"
    assert "errors" not in await gql(client, "query { ...A } fragment A on Query { a: serverStatus { mode } }")


# --- cost ---

INTERACTIONS = 'customerInteractions(customerId: "c1"{args}) {{ interactionId mediaType }}'


async def test_cost_takes_list_sizes_from_limit_arguments(make_client):
    client = await make_client(graphql_max_cost=250, graphql_default_list_size=10)
    # 1 + 100 (the argument's default) * 2
    assert "errors" not in await gql(client, "{ " + INTERACTIONS.format(args="") + " }")
    body = await gql(client, "{ " + INTERACTIONS.format(args=", limit: 200") + " }")
    assert error_code(body) == "LIMIT_EXCEEDED" and "401 values" in body["errors"][0]["message"]
    # A variable's value counts per request, on the compiled path and the full one alike.
    query = "query($n: Int!) { " + INTERACTIONS.format(args=", limit: $n") + " }"
    assert "errors" not in await gql(client, query, {"n": 5})
    body = await gql(client, query, {"n": 1000})
    assert error_code(body) == "LIMIT_EXCEEDED" and "2001 values" in body["errors"][0]["message"]
    # A list without a size argument counts the default size: 1 + 10 * (1 + 10 * (1 + 10 * 1)).
    nested = '{ customerServices(customerId: "c1") { states { tasks { taskId } } } }'
    body = await gql(client, nested)
    assert error_code(body) == "LIMIT_EXCEEDED" and "1111 values" in body["errors"][0]["message"]


async def test_cost_of_id_lists_counts_their_length(make_client):
    client = await make_client(graphql_max_cost=100)
    query = "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId attributes } }"
    assert "errors" not in await gql(client, query, {"ids": [f"c{i}" for i in range(49)]})  # 1 + 49 * 2
    body = await gql(client, query, {"ids": [f"c{i}" for i in range(50)]})
    assert error_code(body) == "LIMIT_EXCEEDED" and "101 values" in body["errors"][0]["message"]
    literal = "{ profiles(customerIds: [" + ", ".join(f'"c{i}"' for i in range(50)) + "]) { customerId attributes } }"
    assert error_code(await gql(client, literal)) == "LIMIT_EXCEEDED"


def test_the_standard_introspection_query_is_within_the_default_cost():
    settings = Settings()
    found = limits.measure(build_schema()._schema, parse(get_introspection_query(descriptions=True)),
                           settings.graphql_default_list_size)
    assert found.operations["IntrospectionQuery"].cost <= settings.graphql_max_cost


# --- sizes of documents and variables ---

async def test_long_comments_and_strings_are_refused_by_bytes(client, validations):
    for query in ("# " + "x" * (64 * 1024) + "\n{ serverStatus { mode } }",
                  '{ profile(customerId: "' + "x" * (64 * 1024) + '") { customerId } }'):
        body = await gql(client, query)
        assert error_code(body) == "LIMIT_EXCEEDED" and "larger than 65536 bytes" in body["errors"][0]["message"]
    assert validations.seen == 0


async def test_huge_id_lists_in_variables_are_refused(client):
    query = "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId } }"
    body = await gql(client, query, {"ids": [f"c{i}" for i in range(300_000)]})
    assert error_code(body) == "LIMIT_EXCEEDED" and "300000 items" in body["errors"][0]["message"]
    assert "data" not in body  # a request error: nothing ran
    nested = {"a": {"PhoneNumber": [[1] * 1000] * 11}}
    body = await gql(client, "query($a: JSON!) { identify(attributes: $a) { customerId } }", nested)
    assert error_code(body) == "LIMIT_EXCEEDED" and "10000 values" in body["errors"][0]["message"]


# --- caches ---

OPEN = SimpleNamespace(ctx=SimpleNamespace(rt=SimpleNamespace(parts={})))
"""A context as an open server's requests carry, enough for documents of `__typename` only."""


def _distinct_queries(n: int, chars: int) -> list[str]:
    fields = " ".join(f"f{j}: __typename" for j in range(chars // 16))
    return [f"query Q{i} {{ {fields} }}" for i in range(n)]


async def test_caches_are_bounded_by_bytes():
    budget = 512 * 1024
    schema = build_schema(Settings(graphql_cache_bytes=budget, graphql_max_aliases=10_000,
                                   graphql_max_tokens=50_000))
    plans = compiled.Plans(schema)
    protection = plans.protection
    assert protection is not None
    queries = _distinct_queries(30, 4 * 1024)
    assert entry_weight(queries[0]) > budget // 2  # at most one entry fits in each
    tracemalloc.start()
    try:
        for query in queries[:10]:  # the caches fill up
            plans.get(query, None)
            await schema.execute(query, context_value=OPEN)
        gc.collect()
        before = tracemalloc.take_snapshot()
        for query in queries[10:]:
            plans.get(query, None)
            await schema.execute(query, context_value=OPEN)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(protection.documents) <= 1 and protection.documents.weight <= budget
    assert len(plans._plans) <= 1 and plans._plans.weight <= budget
    # 20 more distinct documents leave the memory in use where it was.
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < budget // 4, grown


async def test_each_operation_of_a_batch_passes_the_limits(client, validations):
    bombs = await client.post("/graphql", json=[{"query": fragment_bomb(20, 10)}] * 2)
    assert bombs.status_code == 200 and [error_code(b) for b in bombs.json()] == ["LIMIT_EXCEEDED"] * 2
    assert validations.seen == 0
    batch = [{"query": fragment_bomb(20, 10)}, {"query": "{ serverStatus { mode } }"}]
    out = (await client.post("/graphql", json=batch)).json()
    assert error_code(out[0]) == "LIMIT_EXCEEDED" and "data" not in out[0]
    assert out[1] == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}


def test_limit_defaults_are_documented():
    s = Settings()
    assert (s.graphql_max_document_bytes, s.graphql_max_selections, s.graphql_max_cost, s.graphql_default_list_size,
            s.graphql_max_list_items, s.graphql_max_variable_values, s.graphql_cache_bytes) == (
        65536, 1000, 60000, 10, 1000, 10000, 32 * 1024 * 1024)
    with open("docs/configuration.md", encoding="utf-8") as doc:
        text = doc.read()
    for line in ("max_document_bytes = 65536", "max_selections = 1000", "max_cost = 60000",
                 "default_list_size = 10", "max_list_items = 1000", "max_variable_values = 10000",
                 "cache_bytes = 33554432"):
        assert line in text


# --- long id lists reach the database in chunks ---

MANY = 33_000  # above PostgreSQL's 32,767 parameters a statement


async def test_more_ids_than_a_statement_takes_are_read_in_chunks_by_graphql(make_client):
    client = await make_client(graphql_max_list_items=MANY, graphql_max_variable_values=MANY + 1,
                               graphql_max_cost=3 * MANY)
    await define(client, PHONE)
    first, second = await create(client, BRUCE), await create(client, {"LastName": "Wayne"})
    ids = [f"absent-{i}" for i in range(MANY - 2)] + [second, first]
    body = await gql(client, "query($ids: [String!]!) { profiles(customerIds: $ids) { customerId Phone: "
                             "extensions(names: [\"Phone\"]) } }", {"ids": ids})
    assert "errors" not in body, body["errors"][:1]
    found = body["data"]["profiles"]
    assert len(found) == MANY and [p["customerId"] for p in found if p] == [second, first]


async def test_more_ids_than_a_statement_takes_are_read_in_chunks_by_rest(client, monkeypatch):
    # Behind uvicorn the request line is bounded (h11); the application serves what it is given.
    monkeypatch.setattr("httpx._urlparse.MAX_URL_LENGTH", 10_000_000)
    await define(client, PHONE, keys=[ID_EMAIL])
    cid = await create(client, {**BRUCE, "EmailAddress": "bruce@wayne.dom"})
    params = [("EmailAddress", f"nobody{i}@x.dom") for i in range(MANY)] + [("EmailAddress", "bruce@wayne.dom")]
    resp = await client.get("/profiles", params=params)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.json() == {"customer_id": cid}


async def test_subscriptions_over_websocket_are_held_to_the_same_limits(database_url, validations):
    bomb = ("subscription { ...F0 } " + " ".join(
        f"fragment F{i} on Subscription {{ journeyEvents(customerId: \"c\") {{ kind }} "
        + " ".join(f"...F{i + 1}" for _ in range(20) if i + 1 < 10) + " }" for i in range(10)))
    async with served_app(database_url, graphql_max_list_items=10) as served:
        ws = await websockets.connect(served["ws"], subprotocols=["graphql-transport-ws"])
        try:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for n, payload in enumerate([
                    {"query": bomb},
                    {"query": SUBSCRIPTION, "variables": {"customerId": "c", "serviceId": None,
                                                          "x": list(range(11))}}]):
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                assert msg["type"] == "error" and msg["payload"][0]["extensions"]["code"] == "LIMIT_EXCEEDED", msg
        finally:
            await ws.close()
    assert validations.seen == 1  # the small document only; the bomb never reached validation
