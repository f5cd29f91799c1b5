"""Compiled query plans answer exactly as the full Strawberry path: same status, same bytes, same SQL count."""

from __future__ import annotations

import asyncio
import json
from enum import Enum
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.extensions import FieldExtension

from tests.helpers import set_mode
from tests.journeys import define_extensions, start_service, start_state
from tests.profile_fixtures import ADDRESS, BRUCE, PHONE, count_statements, create, data_statements, define
from tests.test_interactions import body as interaction_body
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.tasks import ALL_TASKS, READ_SERVER_INFO
from ucs_graphql.config import Settings
from ucs_graphql.graphql import compiled
from ucs_graphql.graphql.errors import UcsSchema
from ucs_graphql.graphql.schema import build_schema, entry_weight, protection
from ucs_graphql.kit.pages import encode

ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}
BY_ID = "query($id: String!) { profile(customerId: $id) { customerId attributes } }"


class Recorder:
    """Counts the requests a plan answered and those it handed to the full path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answered = self.fell_back = 0
        self.off = False
        self.statements = (0, 0)
        run, get = compiled.Plan.run, compiled.Plans.get

        async def counted_run(plan: compiled.Plan, *args: Any) -> Any:
            try:
                data = await run(plan, *args)
            except compiled.Fallback:
                self.fell_back += 1
                raise
            self.answered += 1
            return data

        def switchable_get(plans: compiled.Plans, *args: Any) -> Any:
            return None if self.off else get(plans, *args)

        monkeypatch.setattr(compiled.Plan, "run", counted_run)
        monkeypatch.setattr(compiled.Plans, "get", switchable_get)

    async def both(self, client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
                   ) -> tuple[httpx.Response, str]:
        """The answer with plans, checked against the answer without; and which path gave the first."""
        before = (self.answered, self.fell_back)
        seen = count_statements(client)
        self.off = False
        fast = await client.post("/graphql", json=body, headers=headers)
        fast_statements = data_statements(seen)
        fast_seen = list(seen)
        seen.clear()
        self.off = True
        try:
            full = await client.post("/graphql", json=body, headers=headers)
        finally:
            self.off = False
        assert (fast.status_code, fast.content) == (full.status_code, full.content), body
        assert fast.headers.get("content-type") == full.headers.get("content-type")
        self.statements = (fast_statements, data_statements(seen))
        if self.answered > before[0]:
            assert fast_statements == data_statements(seen), (body, fast_seen, list(seen))
            return fast, "plan"
        return fast, "fallback" if self.fell_back > before[1] else "full"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    return Recorder(monkeypatch)


async def test_profile_queries_answer_alike(client, recorder):
    await define(client, PHONE, ADDRESS, keys=[ID_PHONE, {"name": "byEmail", "source": "profile",
                                                         "attributes": ["EmailAddress"]}])
    bruce = await create(client, BRUCE)
    other = await create(client, {"FirstName": "Ann", "Phone": [{"PhoneNumber": "+1 555 0100"}],
                                  "Address": {"City": "Oslo"}})
    cases: list[tuple[str, dict[str, Any], str]] = [
        (BY_ID, {"id": bruce}, "plan"),
        (BY_ID, {"id": bruce, "unused": 1}, "plan"),
        (BY_ID, {"id": "nobody"}, "fallback"),
        (BY_ID, {}, "fallback"),
        (BY_ID, {"id": 7}, "fallback"),
        (BY_ID, {"id": None}, "fallback"),
        (f'query($id: String! = "{bruce}") {{ profile(customerId: $id) {{ customerId }} }}', {}, "plan"),
        ("query($id: String!, $e: [String!]) { p: profile(customerId: $id, extensions: $e) { __typename id: "
         "customerId extensions a: attributes } }", {"id": bruce, "e": ["Phone", "Address"]}, "plan"),
        ("query($id: String!, $e: [String!]) { profile(customerId: $id, extensions: $e) { extensions } }",
         {"id": bruce, "e": None}, "plan"),
        (f'{{ profile(customerId: "{other}", extensions: ["Phone"]) {{ extensions(names: ["Address"]) '
         "all: extensions } }", {}, "plan"),
        (f'{{ profile(customerId: "{other}") {{ extensions(names: ["Nope"]) }} }}', {}, "fallback"),
        ("query($ids: [String!]!) { profiles(customerIds: $ids, extensions: [\"Phone\"]) { customerId "
         "attributes extensions } }", {"ids": [bruce, "nobody", other, bruce]}, "plan"),
        ("query($a: JSON!, $m: IncludeExtensions!) { identify(attributes: $a, extensions: [\"Phone\"], "
         "includeExtensions: $m) { customerId extensions } }",
         {"a": {"Phone.PhoneNumber": ["+1-555-0100", "6543210"]}, "m": "UNIQUE"}, "plan"),
        ('{ identify(attributes: {PhoneNumber: "1"}, idKey: "nope") { customerId } }', {}, "fallback"),
        ('{ identify(attributes: {EmailAddress: ["b.banner@hulk.dom", "x"]}) { customerId } }', {}, "plan"),
        ("query($id: String!) { profiles(customerIds: [$id, \"nobody\"]) { customerId } }", {"id": other},
         "plan"),
        ("query($id: String!, $e: [String!]) { profile(customerId: $id, extensions: $e) { extensions } }",
         {"id": other}, "plan"),
        ("query($id: ID!) { profile(customerId: $id) { customerId } }", {"id": other}, "full"),
        ("query($id: String) { profile(customerId: $id) { customerId } }", {"id": other}, "full"),
        (f'{{ __typename profile(customerId: "{bruce}") {{ customerId }} }}', {}, "plan"),
        ("{ profileAttributes { name } identificationKeys { name } }", {}, "plan"),
        ("{ extensionSchemas(level: PROFILE) { name } }", {}, "plan"),
        ("{ serverStatus { mode version } }", {}, "plan"),
        # Left to the full path: fragments, directives, introspection, several operations, invalid documents.
        ("query($id: String!) { profile(customerId: $id) { ...F } } fragment F on Profile { customerId }",
         {"id": bruce}, "full"),
        ("query($id: String!, $x: Boolean!) { profile(customerId: $id) { customerId attributes @include(if: $x) }"
         " }", {"id": bruce, "x": False}, "full"),
        ("{ __schema { queryType { name } } }", {}, "full"),
        (f'{{ profile(customerId: "{bruce}") {{ customerId customerId }} }}', {}, "full"),
        (f'{{ profile(customerId: "{bruce}") {{ nope }} }}', {}, "full"),
        ("{ profile(customerId: ", {}, "full"),
        ("{ " + "a: __typename " * 40 + "}", {}, "full"),
        ('mutation { deleteProfile(customerId: "nobody") }', {}, "full"),
        ("subscription { journeyEvents { kind } }", {}, "full"),
    ]
    for query, variables, path in cases:
        _, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == path, query
    # An unknown id: the full path finds the loader's answer instead of reading it again.
    await recorder.both(client, {"query": BY_ID, "variables": {"id": "nobody"}})
    assert recorder.statements == (1, 1)
    # Fields that run at once: the full path starts afresh, as what the loaders already read would change
    # which error wins the race (the plan read once, the full path once more).
    await recorder.both(client, {"query": '{ a: profile(customerId: "n1") { customerId } '
                                          'b: profile(customerId: "n2") { customerId } }'})
    assert recorder.statements == (2, 1)
    two = f'query A {{ profile(customerId: "{bruce}") {{ customerId }} }} query B {{ __typename }}'
    for name, path in (("B", "plan"), ("A", "plan"), (None, "plan"), ("C", "full")):
        _, got = await recorder.both(client, {"query": two, "operationName": name})
        assert got == path, name
    _, got = await recorder.both(client, {"query": "{ __typename } { __typename }"})
    assert got == "full"
    await set_mode(client, "maintenance")
    resp, got = await recorder.both(client, {"query": BY_ID, "variables": {"id": bruce}})
    assert got == "fallback" and resp.json()["errors"][0]["extensions"]["code"] == "MODE_FORBIDDEN"


async def test_service_queries_answer_alike(client, recorder):
    await define_extensions(client)
    sid = await start_service(client, customer_id="C1", Feedback={"rating": 4})
    s1 = await start_state(client, sid, state_type=1)
    query = """query($sid: Long!) { service(serviceId: $sid) { serviceId customerId
        states(status: ACTIVE) { stateId stateType tasks { taskId } } typed: states(types: [1, "nope"]) { stateId }
        extensions(names: ["Feedback"]) } customerServices(customerId: "C1") { serviceId started { timestamp } } }"""
    for variables, path in (({"sid": sid}, "plan"), ({"sid": sid + 1000}, "fallback"), ({"sid": "x"}, "fallback")):
        _, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == path, variables
    _, got = await recorder.both(client, {"query": "query($sid: Long!, $s: Int!) { state(serviceId: $sid, "
                                                   "stateId: $s) { stateType } }", "variables": {"sid": sid, "s": s1}})
    assert got == "plan"


async def test_interaction_queries_answer_alike(client, recorder):
    """Interactions are an interface: a plan picks each one's object type as the full path does."""
    cid = await create(client, {"FirstName": "Ixn"})
    for n, kind in enumerate((0, 2, 3, 7)):
        resp = await client.post("/interactions", json=interaction_body(
            kind, customer_id=cid, interaction_id=f"k{kind}", start_date=f"2021-01-0{n + 1}T00:00:00Z"))
        assert resp.status_code == 201, resp.text
    queries = [
        "query($id: String!) { customerInteractions(customerId: $id) { __typename interactionId entityType } }",
        """query($id: String!) { profile(customerId: $id) { interactions(first: 3) { edges { cursor node {
            __typename id interactionId startDate subject udata customer { customerId } } } } } }""",
        '{ interaction(interactionId: "k3") { __typename interactionId service { serviceId } } }',
    ]
    for query in queries:
        resp, got = await recorder.both(client, {"query": query, "variables": {"id": cid}})
        assert got == "plan" and "errors" not in resp.json(), resp.text
    resp, _ = await recorder.both(client, {"query": queries[1], "variables": {"id": cid}})
    types = [e["node"]["__typename"] for e in resp.json()["data"]["profile"]["interactions"]["edges"]]
    assert types == ["OpenMediaInteraction", "PhoneCallInteraction", "ChatInteraction"]


async def test_node_and_the_types_implementing_node_keep_their_plans(client, recorder):
    """`node` returns an interface, which a plan answers without fragments; the types implementing Node keep
    their plans where fields return them."""
    cid = await create(client, {"FirstName": "Ann"})
    sid = await start_service(client, customer_id=cid)
    got = (await client.post("/graphql", json={"query": "query($id: String!) { profile(customerId: $id) { id } "
                                                        "}", "variables": {"id": cid}})).json()
    cases = [
        ("query($id: ID!) { node(id: $id) { id ... on Profile { customerId } } }",
         {"id": got["data"]["profile"]["id"]}, "full"),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }",
         {"ids": [got["data"]["profile"]["id"], encode("Service", sid), encode("Profile", "nobody")]}, "plan"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "nope"}, "fallback"),
        ("query($id: String!) { profile(customerId: $id) { id customerId activeServices { edges { node { id "
         "serviceId customer { id } } } } } }", {"id": cid}, "plan"),
        ("query($sid: Long!) { service(serviceId: $sid) { id states { id } tasks { id state { id } } } }",
         {"sid": sid}, "plan"),
    ]
    for query, variables, path in cases:
        resp, taken = await recorder.both(client, {"query": query, "variables": variables})
        assert taken == path and ("errors" in resp.json()) == (path == "fallback"), (query, resp.json())


HASH = hash_secret("pw", ln=4)
ACCESS = f"""
[[roles]]
name = "readers"
dbid = 110
tasks = {json.dumps([READ_SERVER_INFO])}

[[roles]]
name = "admins"
dbid = 111
tasks = {json.dumps(sorted(ALL_TASKS))}

[[users]]
name = "ann"
password_hash = "{HASH}"
roles = ["readers"]

[[users]]
name = "root"
password_hash = "{HASH}"
roles = ["admins"]
"""


async def test_task_checks_answer_alike(make_client, recorder):
    from tests.helpers import basic

    client = await make_client(config_text=ACCESS)
    root, ann = basic("root", "pw"), basic("ann", "pw")
    resp = await client.post("/profiles", json={"FirstName": "Z"}, headers=root)
    cid = resp.json()["customer_id"]
    body = {"query": BY_ID, "variables": {"id": cid}}
    resp, got = await recorder.both(client, body, headers=root)
    assert got == "plan" and resp.json()["data"]["profile"]["customerId"] == cid
    resp, got = await recorder.both(client, body, headers=ann)
    # A document the caller may not read never runs as a plan: the full path refuses it before execution.
    assert got == "full" and resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    resp, got = await recorder.both(client, {"query": "{ serverStatus { mode } }"}, headers=ann)
    assert got == "plan" and resp.json() == {"data": {"serverStatus": {"mode": "PRODUCTION"}}}


def test_plans_are_cached_per_text_and_operation():
    plans = compiled.Plans(build_schema())
    assert plans.get(BY_ID, None) is plans.get(BY_ID, None) is not None
    assert plans.get(BY_ID, "Other") is None
    budget = 2 * entry_weight(BY_ID, 3)  # its plan selects three fields
    small = compiled.Plans(build_schema(), budget=budget)
    for i in range(5):
        assert small.get(f"{{ q{i}: __typename }}", None) is not None
    assert len(small._plans) < 5 and small._plans.weight <= budget
    # A full cache drops its least recently used plan: a plan in use stays while others come and go.
    hot = small.get(BY_ID, None)
    for i in range(5, 10):
        assert small.get(BY_ID, None) is hot
        small.get(f"{{ q{i}: __typename }}", None)
    assert small.get(BY_ID, None) is hot and small._plans.weight <= budget


async def test_texts_over_the_document_limit_are_refused_and_not_kept():
    """Every cache keyed by query text holds texts within the document limit, weighed by their size."""
    schema = build_schema(Settings(graphql_max_document_bytes=1000))
    plans = compiled.Plans(schema)
    protection = plans.protection
    assert protection is not None
    for filler in ("x", "y"):
        long = '{ profile(customerId: "' + filler * 1000 + '") { customerId } }'
        assert plans.get(long, None) is None
        result = await schema.execute(long, context_value=None)
        assert result.errors and result.errors[0].extensions["code"] == "LIMIT_EXCEEDED"
    assert not len(plans._plans) and not len(protection.documents)


def test_fields_with_other_field_extensions_are_not_compiled():
    plans = compiled.Plans(_toy_schema())
    assert plans.get("{ shout }", None) is None
    assert plans.get("{ maybe(present: true) { n } }", None) is not None


@pytest.mark.parametrize("query, shares", [
    (BY_ID, True),
    ("{ profile(customerId: \"x\") { customerId attributes extensions } }", False),
    ("{ __typename profile(customerId: \"x\") { __typename customerId extensions } }", True),
    ("{ a: profile(customerId: \"x\") { customerId } b: profile(customerId: \"y\") { customerId } }", False),
    ("{ profiles(customerIds: [\"x\"]) { customerId } }", True),
    ("{ profiles(customerIds: [\"x\"]) { customerId attributes } }", False),
    ("{ service(serviceId: 1) { serviceId started { timestamp } } }", True),
    ("{ service(serviceId: 1) { started { timestamp } states { stateId } } }", True),
    ("{ service(serviceId: 1) { states { stateId tasks { taskId } } } }", False),
    ("{ serverStatus { mode } profileAttributes { name } }", False),
])
def test_plans_share_the_context_only_when_one_resolver_runs_at_a_time(query, shares):
    plan = compiled.Plans(build_schema()).get(query, None)
    assert plan is not None and plan.shares_context is shares


def test_maybe_arguments_are_not_compiled():
    # Strawberry wraps the value of a Maybe argument (Some(3)), which a plan does not.
    plans = compiled.Plans(_toy_schema())
    for query in ("{ given(n: 3) }", "query($n: Int) { given(n: $n) }", "{ given }"):
        assert plans.get(query, None) is None, query


def test_schemas_with_other_extensions_are_not_compiled():
    from strawberry.extensions import SchemaExtension

    class Other(SchemaExtension):
        pass

    schema = build_schema()
    schema.extensions = [*schema.extensions, Other]
    assert compiled.Plans(schema).get(BY_ID, None) is None


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    n: int
    color: Color = Color.RED

    @strawberry.field
    async def twice(self) -> int:
        await asyncio.sleep(0)
        return self.n * 2

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("broken")


async def _item(n: int) -> Item:
    await asyncio.sleep(0)
    return Item(n=n)


class Upper(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.type
class ToyQuery:
    """Shapes the profile schema lacks: awaitable list items, sync errors after async siblings, nullable
    objects, enums and defaults."""

    @strawberry.field
    async def items(self, count: int = 2, color: Color = Color.BLUE) -> list[Item]:
        return [Item(n=i, color=color) for i in range(count)]

    @strawberry.field
    def awaited_items(self, names: list[str] | None = None) -> list[Item | None]:
        return [_item(len(n)) for n in names or ["a", "bb"]] + [None]  # type: ignore[list-item]

    @strawberry.field
    def maybe(self, present: bool) -> Item | None:
        return Item(n=1) if present else None

    @strawberry.field(extensions=[Upper()])
    def shout(self) -> str:
        return "hi"

    @strawberry.field
    def given(self, n: strawberry.Maybe[int] = None) -> str:
        return repr(n)


def _toy_schema() -> Any:
    return UcsSchema(query=ToyQuery, extensions=[protection(Settings())])


@pytest.mark.parametrize("query, variables", [
    ("{ items { n twice color __typename } }", None),
    ("query($c: Int!, $k: Color!) { items(count: $c, color: $k) { n color } }", {"c": 3, "k": "RED"}),
    ('{ awaitedItems(names: ["x", "yyy", ""]) { n twice } }', None),
    ("query($p: Boolean!) { maybe(present: $p) { n } other: maybe(present: true) { twice } }", {"p": False}),
])
async def test_plans_answer_as_strawberry_on_other_shapes(query, variables):
    schema = _toy_schema()
    plan = compiled.Plans(schema).get(query, None)
    assert plan is not None
    expected = await schema.execute(query, variable_values=variables)
    assert expected.errors is None
    assert json.dumps(await plan.run(None, variables)) == json.dumps(expected.data)


@pytest.mark.parametrize("query", [
    "{ items { twice broken } }",
    "{ awaitedItems { n broken } }",
    "{ a: items { twice } b: items { broken } }",
    "{ items(count: -1) { n } maybe(present: true) { broken } }",
])
async def test_failed_plans_leave_nothing_unawaited(query, recwarn):
    import gc

    schema = _toy_schema()
    plan = compiled.Plans(schema).get(query, None)
    assert plan is not None
    with pytest.raises(compiled.Fallback):
        await plan.run(None, None)
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
    assert (await schema.execute(query)).errors


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Cat(Named):
    lives: int = 9


@strawberry.type
class Dog(Named):
    pass


class Stray:
    name = "Rex"
    lives = 1


@strawberry.type
class Owned(Named):
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Owned)


@strawberry.type
class PetQuery:
    @strawberry.field
    def cat(self, real: bool = True) -> Cat:
        return Cat(name="Tom") if real else Stray()  # type: ignore[return-value]

    @strawberry.field
    def owned(self) -> Owned:
        return Owned(name="Kit")


async def test_types_behind_an_interface_are_compiled_and_checked_as_graphql_core_does():
    schema = UcsSchema(query=PetQuery, types=[Dog], extensions=[protection(Settings())])
    plans = compiled.Plans(schema)
    plan = plans.get("{ cat { name lives __typename } }", None)
    assert plan is not None
    assert await plan.run(None, None) == {"cat": {"name": "Tom", "lives": 9, "__typename": "Cat"}}
    # An object of another type: the plan gives way and the full path reports it.
    wrong = plans.get("{ cat(real: false) { name } }", None)
    assert wrong is not None
    with pytest.raises(compiled.Fallback):
        await wrong.run(None, None)
    assert (await schema.execute("{ cat(real: false) { name } }")).errors
    # A type's own is_type_of may read the resolve info, which a plan does not build: not compiled.
    assert plans.get("{ owned { name } }", None) is None


async def test_bad_variables_and_arguments_are_client_errors(client, recorder, caplog):
    """A variable or argument value that does not coerce is the client's error, never an internal one."""
    import logging

    sid = await start_service(client, customer_id="C1")
    states = "query($sid: Long!, $st: ItemStatus) { states(serviceId: $sid, status: $st) { stateId } }"
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (BY_ID, {"id": 7}, "BAD_PARAMETER", "Variable '$id' has invalid value: String cannot represent"),
        (BY_ID, {"id": None}, "BAD_PARAMETER", "Variable '$id' has invalid value: Expected value of non-null"),
        (BY_ID, {}, "BAD_PARAMETER", "Variable '$id' has invalid value: Expected a value of non-null"),
        ("query($e: [String!]) { profile(customerId: \"x\", extensions: $e) { customerId } }", {"e": [None]},
         "BAD_PARAMETER", "Variable '$e' has invalid value at [0]"),
        ("query($s: Int!) { state(serviceId: 1, stateId: $s) { stateId } }", {"s": 2**31}, "BAD_PARAMETER",
         "Variable '$s' has invalid value: Int cannot represent non 32-bit"),
        ("query($m: IncludeExtensions!) { identify(attributes: {}, includeExtensions: $m) { customerId } }",
         {"m": "NOPE"}, "BAD_PARAMETER", "Variable '$m' has invalid value: Value 'NOPE' does not exist"),
        # The scalar's own refusal, as for the same value given as a literal.
        ("query($sid: Long!) { service(serviceId: $sid) { serviceId } }", {"sid": 1.5}, "BAD_PARAMETER",
         "bad parameter 'Long' reason : '1.5' is not an integer"),
        ("query($sid: Long!) { service(serviceId: $sid) { serviceId } }", {"sid": True}, "BAD_PARAMETER",
         "bad parameter 'Long' reason : 'True' is not an integer"),
        # Coerced when the field runs: null for an argument that takes no null (allowed by its default).
        (states, {"sid": sid, "st": None}, "BAD_PARAMETER",
         "Argument 'status' has invalid value: Expected variable '$st' provided to non-null type 'ItemStatus!' "
         "not to be None."),
    ]
    with caplog.at_level(logging.ERROR, logger="ucs.graphql"):
        for query, variables, code, message in cases:
            resp, got = await recorder.both(client, {"query": query, "variables": variables})
            error = resp.json()["errors"][0]
            assert got == "fallback" and resp.status_code == 200, query
            assert error["extensions"] == {"code": code, "status": 400, "ucs_code": 4020}, (variables, error)
            assert error["message"].startswith(message), (variables, error)
        literal = await client.post("/graphql", json={"query": "{ service(serviceId: 1.5) { serviceId } }"})
        assert literal.json()["errors"][0]["message"] == "bad parameter 'Long' reason : '1.5' is not an integer"
    assert not [r for r in caplog.records if r.name == "ucs.graphql"]


def test_output_coercion_errors_stay_internal(caplog):
    """A resolver's value that its type cannot represent is the server's error, logged."""
    import logging

    @strawberry.type
    class Bad:
        @strawberry.field
        def n(self) -> int | None:
            return "x"  # type: ignore[return-value]

    schema = UcsSchema(query=Bad, extensions=[protection(Settings())])
    with caplog.at_level(logging.ERROR, logger="ucs.graphql"):
        result = schema.execute_sync("{ n }")
    assert result.errors and result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR", "status": 500,
                                                             "ucs_code": 5000}
    assert [r for r in caplog.records if r.name == "ucs.graphql"]


async def test_requests_sharing_a_plan_at_once_keep_their_own_values_and_rights(make_client, recorder):
    """One plan serves concurrent requests with other variables and other users: none sees another's values,
    rights or loaders, and each answers as the full path does alone."""
    from tests.helpers import basic

    client = await make_client(config_text=ACCESS)
    root, ann = basic("root", "pw"), basic("ann", "pw")
    client.headers.update(root)
    await define_extensions(client)
    ids = [(await client.post("/profiles", json={"FirstName": name})).json()["customer_id"] for name in "ABC"]
    sids = [await start_service(client, customer_id=cid, Feedback={"rating": i}) for i, cid in enumerate(ids)]
    for sid in sids:
        await start_state(client, sid, state_type=1)
    del client.headers["Authorization"]
    services = ("query($sid: Long!) { service(serviceId: $sid) { serviceId customerId states { stateId } "
                "extensions(names: [\"Feedback\"]) } }")
    requests = [({"query": BY_ID, "variables": {"id": cid}}, who) for cid in [*ids, "nobody"] for who in (root, ann)]
    requests += [({"query": services, "variables": {"sid": sid}}, root) for sid in [*sids, -1]]
    requests += [({"query": "{ serverStatus { mode } }"}, who) for who in (root, ann)]
    recorder.off = True
    expected = [await client.post("/graphql", json=body, headers=who) for body, who in requests]
    recorder.off = False
    for _ in range(3):
        got = await asyncio.gather(*(client.post("/graphql", json=body, headers=who)
                                     for body, who in [*requests, *reversed(requests)]))
        for want, resp in zip([*expected, *reversed(expected)], got, strict=True):
            assert (resp.status_code, resp.content) == (want.status_code, want.content)
    assert recorder.answered and recorder.fell_back
    assert b"FORBIDDEN" in expected[1].content and b"customerId" in expected[0].content


async def test_variable_and_argument_shapes_answer_alike(client, recorder):
    """Defaults, absent and null variables, a single value for a list, number and enum coercion, key order."""
    await define(client, PHONE, ADDRESS, keys=[ID_PHONE])
    await define_extensions(client)
    bruce = await create(client, BRUCE)
    sid = await start_service(client, customer_id="C1", Feedback={"rating": 4})
    s1 = await start_state(client, sid, state_type=1)
    ext = f'profile(customerId: "{bruce}", extensions: $e) {{ extensions }}'
    state = "query($sid: Long!, $s: Int!) { state(serviceId: $sid, stateId: $s) { stateId stateType } }"
    states = "query($sid: Long!, $st: ItemStatus{}) {{ states(serviceId: $sid, status: $st) {{ stateId }} }}"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (f'query($e: [String!] = ["Phone"]) {{ {ext} }}', {}, "plan"),
        (f'query($e: [String!] = ["Phone"]) {{ {ext} }}', {"e": None}, "plan"),
        (f'query($e: [String!] = ["Phone"]) {{ {ext} }}', {"e": "Address"}, "plan"),
        (f"query($e: [String!]) {{ {ext} }}", {"e": [1]}, "fallback"),
        (f'{{ profile(customerId: "{bruce}", extensions: "Phone") {{ extensions }} }}', {}, "plan"),
        ("query($sid: Long!) { service(serviceId: $sid) { serviceId } }", {"sid": str(sid)}, "plan"),
        ("query($sid: Long!) { service(serviceId: $sid) { serviceId } }", {"sid": 2**40}, "fallback"),
        (state, {"sid": sid, "s": float(s1)}, "plan"),
        (state, {"sid": sid, "s": s1 + 0.5}, "fallback"),
        (state, {"sid": sid, "s": str(s1)}, "fallback"),
        (state, {"sid": sid, "s": 2**33}, "fallback"),
        ("query($sid: Long!, $t: [IdOrName!]) { states(serviceId: $sid, types: $t) { stateId stateType } }",
         {"sid": sid, "t": 1}, "plan"),
        (states.format("! = ACTIVE"), {"sid": sid}, "plan"),
        (states.format(""), {"sid": sid}, "plan"),
        (states.format(""), {"sid": sid, "st": "COMPLETED"}, "plan"),
        (states.format(""), {"sid": sid, "st": None}, "fallback"),
        (states.format(" = ACTIVE"), {"sid": sid, "st": None}, "fallback"),
        (states.format("!"), {"sid": sid, "st": "active"}, "fallback"),
        (f"{{ b: service(serviceId: {sid}) {{ status: customerId serviceId __typename }} __typename "
         f"a: service(serviceId: {sid}) {{ serviceId }} }}", {}, "plan"),
        (f'{{ service(serviceId: {sid}) {{ serviceId }} p: profile(customerId: "nobody") {{ customerId }} }}', {},
         "fallback"),
        (f"{{ service(serviceId: {sid}) {{ serviceId }} again: service(serviceId: {sid + 1}) {{ serviceId }} }}",
         {}, "fallback"),
        (f"{{ service(serviceId: {sid}) {{ serviceId }} service(serviceId: {sid + 1}) {{ serviceId }} }}", {},
         "full"),
        ("{ businessAttributes roles }", {}, "plan"),
    ]
    for query, variables, path in cases:
        _, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == path, (query, variables)
    two = "query Q { serverStatus { mode } } mutation M { setServerMode(mode: PRODUCTION) }"
    for name, path in ((None, "plan"), ("Q", "plan"), ("M", "full"), ("R", "full"), ("", "full")):
        _, got = await recorder.both(client, {"query": two, "operationName": name, "extensions": {"x": 1}})
        assert got == path, name
    _, got = await recorder.both(client, {"query": "mutation M { setServerMode(mode: PRODUCTION) } "
                                                   "query Q { serverStatus { mode } }"})
    assert got == "full"


@pytest.mark.parametrize("prompt", [False, True])
async def test_prompt_loaders_batch_the_keys_of_one_turn_alike(prompt):
    from ucs_graphql.graphql.context import Loader

    batches: list[list[str]] = []

    async def load(keys: list[str]) -> list[str]:
        batches.append(list(keys))
        return [k.upper() for k in keys]

    loader: Loader[str, str] = Loader(load_fn=load)
    loader.prompt = prompt
    first = loader.load("a")
    assert await asyncio.gather(first, loader.load("b"), loader.load("a")) == ["A", "B", "A"]
    assert loader.load("a") is first  # cached
    assert await loader.load_many(["c", "d"]) == ["C", "D"]
    assert batches == [["a", "b"], ["c", "d"]]


def _fallbacks(metrics: str, reason: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f'ucs_graphql_plan_fallbacks_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_fallbacks_are_counted_and_the_first_unexpected_one_is_logged(make_client, monkeypatch, caplog):
    client = await make_client()
    cid = await create(client, {"FirstName": "Ann"})
    missing = await client.post("/graphql", json={"query": BY_ID, "variables": {"id": "nobody"}})
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    metrics = (await client.get("/metrics")).text
    assert (_fallbacks(metrics, "error"), _fallbacks(metrics, "unexpected")) == (1, 0)

    def changed_interface(*args: Any) -> Any:  # as a release changing the private ResolveInfo would fail
        raise TypeError("ResolveInfo() takes other arguments")

    monkeypatch.setattr(compiled, "ResolveInfo", changed_interface)
    for _ in range(2):
        resp = await client.post("/graphql", json={"query": BY_ID, "variables": {"id": cid}})
        assert resp.json() == {"data": {"profile": {"customerId": cid, "attributes": {"FirstName": "Ann"}}}}
    metrics = (await client.get("/metrics")).text
    assert (_fallbacks(metrics, "error"), _fallbacks(metrics, "unexpected")) == (1, 2)
    logged = [r for r in caplog.records if "compiled GraphQL plan failed unexpectedly" in r.getMessage()]
    assert len(logged) == 1 and "ResolveInfo() takes other arguments" in caplog.text


async def test_plans_can_be_turned_off(make_client, monkeypatch):
    client = await make_client(graphql_compiled_plans=False)
    cid = await create(client, {"FirstName": "Ann"})
    ran: list[compiled.Plan] = []
    monkeypatch.setattr(compiled.Plan, "run", lambda plan, *args: ran.append(plan))
    resp = await client.post("/graphql", json={"query": BY_ID, "variables": {"id": cid}})
    assert resp.json()["data"]["profile"]["customerId"] == cid
    assert ran == []


async def test_integer_variables_beyond_64_bits_stay_exact(client):
    query = "query($s: Int!) { state(serviceId: 1, stateId: $s) { stateId } }"
    resp = await client.post("/graphql", content=b'{"query": "%s", "variables": {"s": 18446744073709551617}}'
                             % query.encode(), headers={"content-type": "application/json"})
    error = resp.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_PARAMETER"
    assert "18446744073709551617" in error["message"], error
