"""Nothing the REST rules refuse can be reached through GraphQL, at any depth: payloads of writes, nested
lists and subscriptions included; what REST returns under a task, GraphQL returns too. A document selecting
what the caller may not read is refused whole before anything of it runs."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
    parse,
)

from rest_compat.routes import ROUTES
from tests.helpers import basic
from tests.journeys import define_extensions, start_service, start_state, start_task
from tests.profile_fixtures import BRUCE, PHONE, create, define
from tests.test_access_walk import literal
from tests.test_subscriptions import served_app
from ucs_graphql.access import tasks as t
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.graphql import reach
from ucs_graphql.graphql.nodes import KINDS
from ucs_graphql.graphql.permissions import PerNode
from ucs_graphql.graphql.reach import root_read
from ucs_graphql.graphql.reads import FIELDS, FREE, ROOT_GRANTS, TASKS_OF_A_STATE, Read
from ucs_graphql.graphql.schema import build_schema
from ucs_graphql.kit.pages import encode

PASSWORD = "reach-the-rule"
_HASH = hash_secret(PASSWORD, ln=4)
ID_PHONE = {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"}
USERS: dict[str, list[str]] = {
    "root": sorted(t.ALL_TASKS),
    "ext_writer": [t.CREATE_PROFILE_EXTENSION],
    "updater": [t.UPDATE_PROFILE],
    "merger": [t.MERGE_PROFILE],
    "associator": [t.ASSOCIATE_SERVICE],
    "service_reader": [t.READ_SERVICE],
    "state_reader": [t.READ_STATE],
    "identifier": [t.IDENTIFY_CUSTOMER],
    "two_writes": [t.CREATE_PROFILE_EXTENSION, t.UPDATE_PROFILE],
}
GRAPHQL_SCHEMA = build_schema()._schema
ROOTS = {GRAPHQL_SCHEMA.query_type, GRAPHQL_SCHEMA.mutation_type, GRAPHQL_SCHEMA.subscription_type}
REFUSED = re.compile(r"(\w+\.\w+) \(needs ")


def config(users: dict[str, Iterable[str]]) -> str:
    """One role per user holding exactly its tasks."""
    lines: list[str] = []
    for name, tasks in users.items():
        lines += ["[[roles]]", f'name = "r_{name}"', f"tasks = {json.dumps(sorted(tasks))}",
                  "[[users]]", f'name = "{name}"', f'password_hash = "{_HASH}"', f'roles = ["r_{name}"]']
    return "\n".join(lines) + "\n"


def as_user(name: str) -> dict[str, str]:
    return basic(name, PASSWORD)


async def ask(client: httpx.AsyncClient, user: str, query: str, variables: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    resp = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=as_user(user))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def refused(body: dict[str, Any]) -> set[str]:
    """The field coordinates a FORBIDDEN answer names (the test fails on any other answer)."""
    errors = body.get("errors") or []
    assert len(errors) == 1 and errors[0]["extensions"]["code"] == "FORBIDDEN", body
    assert body.get("data") is None, body
    return set(REFUSED.findall(errors[0]["message"]))


def codes(body: dict[str, Any]) -> set[str]:
    return {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}


@pytest.fixture
async def app(make_client: Any) -> httpx.AsyncClient:
    """A server with this file's users; the client signs in as root unless a call says otherwise."""
    client: httpx.AsyncClient = await make_client(config_text=config(USERS))
    client.headers.update(as_user("root"))
    return client


# --- the rule table itself ---

def object_types() -> Iterator[GraphQLObjectType | GraphQLInterfaceType]:
    for named in GRAPHQL_SCHEMA.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and not named.name.startswith("__") \
                and named not in ROOTS:
            yield named


def test_every_field_of_every_type_declares_what_reading_it_needs():
    """A new type or field without a rule fails here (and is refused to everyone until it has one)."""
    undeclared = [f"{named.name}.{name}" for named in object_types() for name in named.fields
                  if name not in FIELDS.get(named.name, {})]
    stale = [f"{type_name}.{name}" for type_name, fields in FIELDS.items() for name in fields
             if name not in getattr(GRAPHQL_SCHEMA.type_map.get(type_name), "fields", {})]
    assert not undeclared, f"declare these in ucs_graphql/graphql/reads.py: {undeclared}"
    assert not stale, f"rules for fields the schema does not have: {stale}"
    assert all(root_read(f) is not None for root in ROOTS if root for f in root.fields.values())


def test_every_read_rule_names_the_tasks_of_the_rest_reads_that_return_its_data():
    by_route = {f"{op.method} {op.path}": op.task for op in ROUTES}
    rules: list[tuple[str, Read]] = [(f"{ty}.{name}", read) for ty, fields in FIELDS.items()
                                     for name, read in fields.items()]
    rules += [(f"{ty}.{name}", read) for (ty, name), read in ROOT_GRANTS.items()]
    checked = 0
    for where, read in rules:
        if read == FREE:
            continue
        assert read.rest, f"{where}: name the REST reads that return this data"
        assert all(route in by_route for route in read.rest), (where, read.rest)
        if read.tasks:
            assert {by_route[route] for route in read.rest} == read.tasks - {TASKS_OF_A_STATE}, where
            checked += 1
    for (ty, name), read in ROOT_GRANTS.items():
        permission = root_read(GRAPHQL_SCHEMA.type_map[ty].fields[name])  # type: ignore[union-attr]
        assert permission is not None and {by_route[r] for r in read.rest} == {permission.task}, (ty, name)
    assert checked > 30


def test_the_walk_visits_each_fragment_once():
    """Fragments spread in fragments (6 spreads a level, 8 levels) cost one visit of each field node."""
    levels, spreads = 8, 6
    fragments = [f"fragment F{i} on Query {{ serverStatus {{ mode }} {' '.join([f'...F{i + 1}'] * spreads)} }}"
                 for i in range(levels - 1)]
    fragments.append(f"fragment F{levels - 1} on Query {{ serverStatus {{ mode }} }}")
    document = parse("query { ...F0 }\n" + "\n".join(fragments))
    visits = 0
    field = reach._Walk.field

    def counted(walk: Any, parent: Any, node: Any) -> Any:
        nonlocal visits
        visits += 1
        return field(walk, parent, node)

    reach._Walk.field = counted  # type: ignore[method-assign]
    try:
        operation = document.definitions[0]
        needs = reach.needs_of(GRAPHQL_SCHEMA, document, operation, None)  # type: ignore[arg-type]
    finally:
        reach._Walk.field = field  # type: ignore[method-assign]
    assert visits == 2 * levels  # serverStatus and mode, once per fragment
    assert {where for where, _, _ in needs.requirements} == {"Query.serverStatus"}


# --- every field of every type, through GraphQL over HTTP ---

Step = tuple[GraphQLNamedType, str]


def paths() -> dict[str, list[list[Step]]]:
    """Type name → the paths (root type, field) ... that reach it, up to three fields deep, shortest first."""
    found: dict[str, list[list[Step]]] = {}
    frontier: list[list[Step]] = [[(root, name)] for root in ROOTS if root for name in root.fields]
    for _ in range(3):
        nxt: list[list[Step]] = []
        for path in frontier:
            parent, name = path[-1]
            target = get_named_type(parent.fields[name].type)  # type: ignore[attr-defined]
            if not is_composite_type(target):
                continue
            found.setdefault(target.name, []).append(path)
            nxt += [[*path, (named, child)] for named in implementations(target)
                    for child in named.fields]  # type: ignore[attr-defined]
        frontier = nxt
    return found


def node_id(target: GraphQLNamedType) -> str:
    """A global id of an object of `target` (of a profile for the Node interface itself)."""
    if target.name in KINDS:
        kind = target.name
    else:
        interfaces = {i.name for i in getattr(target, "interfaces", ())}
        kind = "Interaction" if "Interaction" in interfaces else "Profile"
    return encode(kind, *(1 if highest else "sample" for highest in KINDS[kind].key))


def node_argument(parent: GraphQLNamedType, name: str, target: GraphQLNamedType) -> tuple[str, Any] | None:
    """(GraphQL literal, value) of the ids argument of `node` or `nodes` naming an object of `target`; None for
    other fields."""
    permission = root_read(parent.fields[name]) if parent in ROOTS else None  # type: ignore[attr-defined]
    if not isinstance(permission, PerNode):
        return None
    assert permission.arg is not None
    listed = is_list_type(get_nullable_type(parent.fields[name].args[permission.arg].type))  # type: ignore[attr-defined]
    value: Any = [node_id(target)] if listed else node_id(target)
    return json.dumps(value), value


def rule_of(parent: GraphQLNamedType, name: str, target: GraphQLNamedType) -> Read:
    """What reading `name` of `parent` needs when it leads to an object of `target`."""
    if parent in ROOTS:
        permission = root_read(parent.fields[name])  # type: ignore[attr-defined]
        assert permission is not None
        grants = ROOT_GRANTS.get((parent.name, name), FREE).grants
        kwargs: dict[str, Any] = {}
        ids = node_argument(parent, name, target)
        if ids is not None:
            kwargs = {permission.arg: ids[1]}  # type: ignore[dict-item]
        elif permission.arg is not None:  # the documents give the enum's first value (see `literal`)
            enum = get_named_type(parent.fields[name].args[permission.arg].type)  # type: ignore[attr-defined]
            kwargs = {permission.arg: next(iter(enum.values.values())).value}  # type: ignore[attr-defined]
        return Read(frozenset(permission.tasks_for(kwargs)), grants=grants)
    return FIELDS[parent.name][name]


def targets(path: list[Step], named: GraphQLNamedType) -> list[GraphQLNamedType]:
    """The type of object each step of `path` leads to (an implementation where the next step names one)."""
    return [path[i + 1][0] if i + 1 < len(path) else named for i in range(len(path))]


def holding_path(path: list[Step], avoid: frozenset[str], named: GraphQLNamedType
                 ) -> tuple[set[str], frozenset[str]] | None:
    """Tasks that let a caller through every field of `path` (to `named`) while holding none of `avoid`, and
    the grants below it; None when there are none."""
    held: set[str] = set()
    grants: frozenset[str] = frozenset()
    for (parent, name), target in zip(path, targets(path, named), strict=True):
        read = rule_of(parent, name, target)
        if read.tasks and not read.tasks & (held | grants):
            usable = sorted(read.tasks - avoid - {TASKS_OF_A_STATE})
            if not usable:
                return None
            held.add(usable[0])
        grants |= read.grants
    if avoid & grants:
        return None
    return held, grants


def call(parent: GraphQLNamedType, name: str, inner: str, target: GraphQLNamedType) -> str:
    field: GraphQLField = parent.fields[name]  # type: ignore[attr-defined]
    ids = node_argument(parent, name, target)
    args = [f"{n}: {ids[0] if ids is not None else literal(a.type)}" for n, a in field.args.items()
            if is_non_null_type(a.type)]
    return f"{name}({', '.join(args)}) {{ {inner} }}" if args else f"{name} {{ {inner} }}"


def document(path: list[Step], named: GraphQLNamedType) -> str:
    """A document reaching `named` through `path` and selecting every field of it."""
    selected = []
    for name, field in named.fields.items():  # type: ignore[attr-defined]
        args = [f"{n}: {literal(a.type)}" for n, a in field.args.items() if is_non_null_type(a.type)]
        text = f"{name}({', '.join(args)})" if args else name
        selected.append(text + (" { __typename }" if is_composite_type(get_named_type(field.type)) else ""))
    inner = " ".join(selected)
    below = named
    for (parent, name), target in reversed(list(zip(path, targets(path, named), strict=True))):
        returned = get_named_type(parent.fields[name].type)  # type: ignore[attr-defined]
        if returned is not below:  # an implementation of the interface the field returns
            inner = f"... on {below.name} {{ {inner} }}"
        inner = call(parent, name, inner, target)
        below = parent
    kind = {GRAPHQL_SCHEMA.query_type: "query", GRAPHQL_SCHEMA.mutation_type: "mutation"}.get(path[0][0],
                                                                                               "subscription")
    return f"{kind} {{ {inner} }}"


def implementations(named: GraphQLNamedType) -> list[GraphQLNamedType]:
    if isinstance(named, GraphQLInterfaceType):
        return [named, *GRAPHQL_SCHEMA.get_implementations(named).objects]
    return [named]


def cases() -> list[tuple[str, str, set[str], set[str]]]:
    """(type, document, tasks held, coordinates refused) for every type: with only the tasks of its path,
    then with each task one of its fields needs added. Below `node` and `nodes`, which need the read task
    of the type their ids name, the path holds that task and the other tasks its fields need are added."""
    out = []
    reached = paths()
    for type_name, type_paths in reached.items():
        owner = GRAPHQL_SCHEMA.type_map[type_name]
        for named in implementations(owner):
            reads = FIELDS[named.name]
            needed = frozenset().union(*(r.tasks for r in reads.values())) - {TASKS_OF_A_STATE}
            if all(path[0][0] is GRAPHQL_SCHEMA.subscription_type for path in type_paths):
                continue  # only subscriptions reach it: served over WebSocket (a test below)
            for path in type_paths:
                if path[0][0] is GRAPHQL_SCHEMA.subscription_type:
                    continue
                through = holding_path(path, needed, named)
                if through is None and node_argument(*path[0], targets(path, named)[0]) is not None:
                    through = holding_path(path, needed - rule_of(*path[0], targets(path, named)[0]).tasks, named)
                if through is None:
                    continue
                held, grants = through
                doc = document(path, named)
                for extra in [None, *sorted(needed - held)]:
                    holds = held | ({extra} if extra else set())
                    refused = {f"{named.name}.{name}" for name, read in reads.items()
                               if read.tasks and not read.tasks & (holds | grants)}
                    out.append((named.name, doc, holds, refused))
                break
            else:
                raise AssertionError(f"no path reaches {named.name} without the tasks its fields need")
    return out


async def test_every_field_of_every_type_is_refused_or_served_by_its_rule(make_client):
    all_cases = cases()
    users = {f"u{i}": sorted(held) for i, held in enumerate(sorted({tuple(sorted(h)) for _, _, h, _ in all_cases}))}
    names = {tuple(tasks): user for user, tasks in users.items()}
    client = await make_client(config_text=config(users))
    failures = []
    for type_name, doc, held, expected in all_cases:
        body = (await client.post("/graphql", json={"query": doc},
                                  headers=as_user(names[tuple(sorted(held))]))).json()
        if expected:
            errors = body.get("errors") or []
            got = set(REFUSED.findall(errors[0]["message"])) if errors else set()
            if got != expected or errors[0]["extensions"]["code"] != "FORBIDDEN":
                failures.append(f"{type_name} holding {sorted(held)}: expected {sorted(expected)}: {body}")
        elif codes(body) & {"FORBIDDEN", "UNAUTHENTICATED"}:
            failures.append(f"{type_name} holding {sorted(held)}: expected no refusal: {body}")
    assert not failures, "\n".join(failures)
    assert {c[0] for c in all_cases} | {"JourneyEvent"} >= {named.name for named in object_types()}


# --- payloads of writes: refused whole, before the write ---

async def test_a_refused_payload_refuses_the_write(app):
    await define(app, PHONE)
    cid = await create(app, BRUCE)
    phone = {"Phone": [{"PhoneNumber": "555"}]}
    query = ("mutation($c: String!, $e: JSON!) { insertProfileExtensions(customerId: $c, extensions: $e) "
             "{ customerId attributes extensions(names: [\"Phone\"]) } }")
    body = await ask(app, "ext_writer", query, {"c": cid, "e": phone})
    assert refused(body) == {"Profile.attributes", "Profile.extensions"}
    assert t.READ_PROFILE in body["errors"][0]["message"]
    stored = (await app.get(f"/profiles/{cid}", params={"extensions": "Phone"})).json()["Phone"]
    assert "555" not in [p["PhoneNumber"] for p in stored]
    body = await ask(app, "ext_writer", "mutation($c: String!, $e: JSON!) { insertProfileExtensions("
                                        "customerId: $c, extensions: $e) { customerId } }", {"c": cid, "e": phone})
    assert body == {"data": {"insertProfileExtensions": {"customerId": cid}}}
    stored = (await app.get(f"/profiles/{cid}", params={"extensions": "Phone"})).json()["Phone"]
    assert "555" in [p["PhoneNumber"] for p in stored]
    assert (await app.get(f"/profiles/{cid}", headers=as_user("ext_writer"))).status_code == 403


async def test_update_and_merge_payloads_are_refused_without_read_profile(app):
    cid = await create(app, {"FirstName": "Ann", "LastName": "Old"})
    src = await create(app, {"FirstName": "Src"})
    body = await ask(app, "updater", "mutation($c: String!) { updateProfile(customerId: $c, profile: "
                                     "{LastName: \"New\"}) { customerId attributes } }", {"c": cid})
    assert refused(body) == {"Profile.attributes"}
    assert (await app.get(f"/profiles/{cid}")).json()["LastName"] == "Old"
    body = await ask(app, "merger", "mutation($c: String!, $s: String!) { mergeProfiles(customerId: $c, "
                                    "sourceId: $s) { attributes } }", {"c": cid, "s": src})
    assert refused(body) == {"Profile.attributes"}
    assert (await app.get(f"/profiles/{src}")).status_code == 200
    body = await ask(app, "merger", "mutation($c: String!, $s: String!) { mergeProfiles(customerId: $c, "
                                    "sourceId: $s) { customerId } }", {"c": cid, "s": src})
    assert body == {"data": {"mergeProfiles": {"customerId": cid}}}


async def test_no_mutation_of_a_document_runs_when_a_later_one_is_refused(app):
    await define(app, PHONE)
    cid = await create(app, {"FirstName": "Ann"})
    query = ("mutation($c: String!) { a: insertProfileExtensions(customerId: $c, extensions: "
             "{Phone: [{PhoneNumber: \"777\"}]}) { customerId } "
             "b: updateProfile(customerId: $c, profile: {FirstName: \"Changed\"}) { attributes } }")
    assert refused(await ask(app, "two_writes", query, {"c": cid})) == {"Profile.attributes"}
    got = (await app.get(f"/profiles/{cid}", params={"extensions": "Phone"})).json()
    assert got["FirstName"] == "Ann" and not got["Phone"]


async def test_associate_service_payload_is_refused_without_the_read_tasks(app):
    await define_extensions(app)
    sid = await start_service(app, Feedback={"rating": 3})
    await start_state(app, sid, Feedback={"rating": 4})
    query = ("mutation($s: Long!) { associateService(customerId: \"C1\", serviceId: $s) "
             "{ serviceId extensions states { extensions } } }")
    body = await ask(app, "associator", query, {"s": sid})
    assert refused(body) == {"Service.extensions", "Service.states", "State.extensions"}
    assert "customer_id" not in (await app.get(f"/services/{sid}")).json()
    body = await ask(app, "associator", "mutation($s: Long!) { associateService(customerId: \"C1\", "
                                        "serviceId: $s) { serviceId } }", {"s": sid})
    assert body == {"data": {"associateService": {"serviceId": sid}}}
    assert (await app.get(f"/services/{sid}")).json()["customer_id"] == "C1"


# --- nested reads: as REST refuses them, and as REST serves them ---

async def journey(app: httpx.AsyncClient) -> tuple[int, int, int]:
    await define_extensions(app)
    sid = await start_service(app, customer_id="C1", Feedback={"rating": 3})
    state = await start_state(app, sid, Feedback={"rating": 4})
    task = await start_task(app, sid, state_id=state, Survey={"url": "u"})
    return sid, state, task


@pytest.mark.parametrize("fragments", [False, True])
async def test_read_service_alone_never_reaches_state_or_task_extensions(app, fragments):
    sid, _, _ = await journey(app)
    reader = as_user("service_reader")
    assert (await app.get(f"/services/{sid}/states", headers=reader)).status_code == 403
    assert (await app.get(f"/services/{sid}/tasks", headers=reader)).status_code == 403

    def doc(inner: str) -> str:
        if fragments:  # the Strawberry path (a plan compiles no fragment)
            return (f"query($s: Long!) {{ ...Q }} fragment Q on Query {{ service(serviceId: $s) {{ ...S }} }} "
                    f"fragment S on Service {{ {inner} }}")
        return f"query($s: Long!) {{ service(serviceId: $s) {{ {inner} }} }}"

    for inner, coordinates in [
        ("states { extensions }", {"State.extensions"}),
        ("states { tasks { extensions } }", {"Task.extensions"}),
        ("tasks { extensions }", {"Task.extensions"}),
        ("extensions states { stateType extensions tasks { taskType extensions } }",
         {"State.extensions", "Task.extensions"}),
    ]:
        assert refused(await ask(app, "service_reader", doc(inner), {"s": sid})) == coordinates, inner
    body = await ask(app, "service_reader", doc("serviceId extensions(names: [\"Feedback\"]) states { stateType "
                                                "tasks { taskType } } tasks { taskType stateId }"), {"s": sid})
    assert "errors" not in body, body
    rest = (await app.get(f"/services/{sid}", headers=reader, params={
        "active_states": "yes", "active_tasks": "yes", "extensions": "Feedback"})).json()
    got = body["data"]["service"]
    assert got["extensions"]["Feedback"] == rest["Feedback"]
    assert [s["stateType"] for s in got["states"]] == [s["state_type"] for s in rest["active_states"]]
    assert [t_["taskType"] for t_ in got["states"][0]["tasks"]] == [
        t_["task_type"] for t_ in rest["active_states"][0]["active_tasks"]]
    assert [t_["taskType"] for t_ in got["tasks"]] == [t_["task_type"] for t_ in rest["active_tasks"]]


async def test_read_state_serves_states_with_their_tasks_but_not_task_extensions(app):
    sid, state, _ = await journey(app)
    query = "query($s: Long!) { states(serviceId: $s) { stateId extensions tasks { taskType %s } } }"
    body = await ask(app, "state_reader", query % "", {"s": sid})
    assert body["data"]["states"][0]["stateId"] == state and body["data"]["states"][0]["tasks"][0]["taskType"] == 55
    assert refused(await ask(app, "state_reader", query % "extensions", {"s": sid})) == {"Task.extensions"}


async def test_identify_serves_the_profile_as_rest_does(app):
    await define(app, PHONE, keys=[ID_PHONE])
    cid = await create(app, {**BRUCE, "Phone": [{"PhoneNumber": "+33314592653"}]})
    who = as_user("identifier")
    rest = await app.get("/profiles", headers=who, params={"Phone.PhoneNumber": "+33314592653",
                                                           "include_profile": "yes", "extensions": "Phone"})
    assert rest.status_code == 200, rest.text
    query = ("query($a: JSON!) { identify(attributes: $a, extensions: [\"Phone\"]) "
             "{ customerId attributes extensions } }")
    body = await ask(app, "identifier", query, {"a": {"Phone.PhoneNumber": "+33314592653"}})
    assert "errors" not in body, body
    found = body["data"]["identify"]
    assert [f["customerId"] for f in found] == [cid]
    assert found[0]["attributes"]["LastName"] == rest.json()["LastName"]
    assert found[0]["extensions"]["Phone"] == rest.json()["Phone"]
    assert (await app.get(f"/profiles/{cid}", headers=who)).status_code == 403
    body = await ask(app, "identifier", "query($c: String!) { profile(customerId: $c) { attributes } }", {"c": cid})
    assert refused(body) == {"Query.profile", "Profile.attributes"}


async def test_an_argument_that_chooses_the_task_is_read_from_the_variables(make_client):
    client = await make_client(config_text=config({"schemas": [t.READ_PROFILE_EXTENSION_SCHEMA]}))
    query = "query($l: ExtensionLevel!) { extensionSchemas(level: $l) { name } }"
    body = await ask(client, "schemas", query, {"l": "PROFILE"})
    assert body == {"data": {"extensionSchemas": []}}
    assert refused(await ask(client, "schemas", query, {"l": "SERVICE"})) == {"Query.extensionSchemas"}


# --- subscriptions over WebSocket ---

@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(config(USERS))
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def _subscribe(url: str, user: str, query: str) -> Any:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": as_user(user)["Authorization"]}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    return ws


async def test_journey_events_never_carry_state_extensions_to_read_service_alone(served):
    refused_ws = await _subscribe(served["ws"], "service_reader",
                                  'subscription { journeyEvents(customerId: "C7") { kind service { states '
                                  '{ stateType extensions } } } }')
    msg = json.loads(await asyncio.wait_for(refused_ws.recv(), timeout=10))
    errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN" and "State.extensions" in errors[0]["message"]
    await refused_ws.close()
    events = served["rt"].parts["events"]
    before = events.subscribers
    ws = await _subscribe(served["ws"], "service_reader",
                          'subscription { journeyEvents(customerId: "C7") { kind service { serviceId states '
                          '{ stateType } } } }')
    for _ in range(500):
        if events.subscribers > before:
            break
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=served["http"], headers=as_user("root")) as http:
        resp = await http.post("/services/start", json={"service_type": 1, "customer_id": "C7"})
        assert resp.status_code == 201, resp.text
    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    assert msg["type"] == "next" and "errors" not in msg["payload"], msg
    assert msg["payload"]["data"]["journeyEvents"]["service"] == {"serviceId": resp.json()["service_id"],
                                                                  "states": []}
    await ws.close()


async def test_a_get_request_is_checked_as_a_post_is(app):
    sid, _, _ = await journey(app)
    query = f"{{ service(serviceId: {sid}) {{ serviceId states {{ extensions }} }} }}"
    resp = await app.get("/graphql", params={"query": query}, headers=as_user("service_reader"))
    assert refused(resp.json()) == {"State.extensions"}
    resp = await app.get("/graphql", params={"query": query}, headers=as_user("root"))
    assert resp.json()["data"]["service"]["states"][0]["extensions"]["Feedback"] == {"rating": 4}
