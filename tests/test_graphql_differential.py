"""Generated query documents answer byte for byte alike with compiled plans on and off (on both databases).

The compiled plans (ucs_graphql.graphql.compiled) lean on Strawberry's and graphql-core's private interfaces;
this test is what makes an upgrade that breaks them fail here rather than in production. Documents come from
hypothesis-graphql over the served schema, with argument values drawn from the seeded data so that most
of them find something. UCS_DIFFERENTIAL_EXAMPLES sets how many (the suite's default is small; a longer
run: UCS_DIFFERENTIAL_EXAMPLES=5000 pytest tests/test_graphql_differential.py).
"""

from __future__ import annotations

import os
from typing import Any

import graphql
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

from tests.journeys import define_extensions, start_service, start_state, start_task
from tests.profile_fixtures import ADDRESS, PHONE, create, define
from tests.test_graphql_compiled import Recorder
from ucs_graphql.graphql.schema import sdl
from ucs_graphql.kit.pages import encode

# Root fields whose answers change between two runs of the same document (memory, clocks).
VOLATILE = {"serverStatus"}
EXAMPLES = int(os.environ.get("UCS_DIFFERENTIAL_EXAMPLES", "150"))


def _documents(strings: list[str], ints: list[int], longs: list[int], ids: list[str], count: int) -> list[str]:
    """`count` generated query documents (the same ones on every run: derandomized)."""
    scalars = {
        "String": st.sampled_from([*strings, "Nope", "", "x"]).map(nodes.String),
        "ID": st.sampled_from([*ids, *strings]).map(nodes.String),
        "Int": st.sampled_from([*ints, 0, -1, 2**31 - 1]).map(nodes.Int),
        "Long": st.sampled_from([*longs, 0, 2**53]).map(nodes.Int),
        "JSON": st.sampled_from([
            graphql.parse_value('{PhoneNumber: "+1 555 0100"}'), graphql.parse_value('{FirstName: "Ann"}'),
            graphql.parse_value("{}"), graphql.parse_value("[]")]),
    }
    out: list[str] = []
    schema = graphql.build_schema(sdl())
    assert schema.query_type is not None
    roots = [name for name in schema.query_type.fields if name not in VOLATILE]

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    # One root field per document, as front-ends send them: with several, which of two failing root fields
    # is reported first is a race between their reads, on either path.
    @given(st.one_of([queries(schema, fields=[root], custom_scalars=scalars, allow_x00=False) for root in roots]))
    def collect(document: str) -> None:
        out.append(document)

    collect()
    return out


async def test_generated_documents_answer_alike_with_plans_on_and_off(make_client, monkeypatch):
    recorder = Recorder(monkeypatch)
    client = await make_client()
    await define(client, PHONE, ADDRESS)
    await define_extensions(client)
    ann = await create(client, {"FirstName": "Ann", "Phone": [{"PhoneNumber": "+1 555 0100"}],
                                "Address": {"City": "Oslo"}})
    bob = await create(client, {"FirstName": "Bob"})
    services, states, tasks = [], [], []
    for customer in (ann, bob):
        for i in range(2):
            sid = await start_service(client, customer_id=customer, service_type=100 + i,
                                      Feedback={"rating": i})
            services.append(sid)
            state = await start_state(client, sid, Feedback={"rating": 3})
            states.append(state)
            tasks.append(await start_task(client, sid, state_id=state))
    # Global ids of each type (for node and nodes), read as a client would.
    ids = [encode("Profile", ann), encode("Service", services[0]), encode("State", services[0], states[0]),
           encode("Task", services[0], tasks[0]), encode("Service", 10**9)]
    documents = _documents([ann, bob, "Phone", "Address", "Feedback", "Survey"], states + tasks, services, ids,
                           EXAMPLES)
    assert len(documents) >= min(EXAMPLES, 50)
    paths: dict[str, int] = {}
    for document in documents:
        body: dict[str, Any] = {"query": document}
        _, path = await recorder.both(client, body)
        paths[path] = paths.get(path, 0) + 1
    # The comparison means something only if plans answered a good share of the documents themselves.
    assert paths.get("plan", 0) >= len(documents) // 5, paths


async def test_customer_views_answer_alike_with_plans_on_and_off(make_client, monkeypatch):
    """The documents a customer view reads in one statement (a profile with its services, their states and
    tasks, and its interactions): the same bytes and statements with plans on and off."""
    from tests.test_graphql_graph import APART, VIEW, VIEWS, customer_with_journey

    recorder = Recorder(monkeypatch)
    client = await make_client()
    customers = [await customer_with_journey(client, f"D{n}") for n in range(2)]
    cid = customers[0]["cid"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        (VIEW, {"cid": cid}, "plan"), (VIEW, {"cid": cid, "first": 1, "ifirst": 1}, "plan"),
        (VIEW, {"cid": "nobody"}, "fallback"), (VIEW, {"cid": cid, "iafter": "x"}, "fallback"),
        (APART, {"cid": cid}, "full"), (VIEWS, {"ids": [c["cid"] for c in customers] + ["nobody"]}, "plan")]
    for query, variables, path in cases:
        resp, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == path, (query, variables, resp.text)
        if path == "plan":
            assert recorder.statements == (1, 1), (query, variables)


_SHORTCUT_SELECTIONS = [
    # services without filters, a first page, and every field of a service, state and task a plan reads itself
    """__typename id customerId services(first: $first, after: $after) { __typename edges { __typename cursor
      node { __typename id serviceId serviceType customerId contactKey estDuration estDurationMs duration durationMs
      disposition dispositionDesc started { timestamp sessionId mediaType } completed { timestamp }
      states { id stateId stateType previousStateId estDurationMs durationMs started { timestamp } completed {
      timestamp } } tasks { id taskId taskType stateId durationMs } } } pageInfo { hasNextPage hasPreviousPage
      startCursor endCursor } }""",
    # aliases, states only, attributes after the services, no interactions
    """a: activeServices { e: edges { n: node { s: serviceId st: states { i: stateId } } } } b: attributes""",
    # tasks only, interactions with every plain field and global ids
    """activeServices { edges { node { tasks { taskId } } } } interactions(first: $ifirst, after: $iafter) { edges {
      cursor node { __typename id interactionId customerId serviceId entityType status type subType mediaType
      startDate endDate subject udata } } pageInfo { hasNextPage endCursor } }""",
    # neither states nor tasks
    """attributes activeServices(first: $first) { edges { node { serviceId } } pageInfo { hasNextPage } }""",
]


async def test_customer_view_shortcut_answers_alike_with_plans_on_and_off(make_client, monkeypatch):
    """Customer-view documents that a plan answers from its one read (ucs_graphql.graphql.view_plan): the same
    bytes and statements as the full path, for every page, customer and refusal."""
    from tests.test_graphql_graph import customer_with_journey
    from ucs_graphql.graphql import view_plan

    shortcuts = 0
    read = view_plan._read

    async def counted(*args: Any) -> Any:
        nonlocal shortcuts
        shortcuts += 1
        return await read(*args)

    monkeypatch.setattr(view_plan, "_read", counted)
    recorder = Recorder(monkeypatch)
    client = await make_client()
    c = await customer_with_journey(client, "S")
    second = await start_service(client, customer_id=c["cid"], service_type=101)
    await start_task(client, second)
    lonely = await create(client, {"FirstName": "Lone"})
    first_page = encode("service", c["active"])
    for selection in _SHORTCUT_SELECTIONS:
        query = f"{_declared(selection)} {{ profile(customerId: $cid) {{ {selection} }} }}"
        cases: list[tuple[dict[str, Any], str]] = [
            ({"cid": c["cid"]}, "plan"), ({"cid": c["cid"], "first": 1, "ifirst": 1}, "plan"),
            ({"cid": c["cid"], "first": 1, "after": first_page}, "plan"), ({"cid": c["cid"], "first": 0}, "plan"),
            ({"cid": lonely}, "plan"), ({"cid": "nobody"}, "fallback")]
        if "$after" in selection:
            cases.append(({"cid": c["cid"], "after": "not a cursor"}, "fallback"))
        if "$first" in selection:
            cases.append(({"cid": c["cid"], "first": 10**6}, "refused"))  # by the limits, before any plan runs
        for variables, path in cases:
            before = shortcuts
            resp, got = await recorder.both(client, {"query": query, "variables": variables})
            assert got == path.replace("refused", "fallback"), (selection, variables, resp.text)
            assert shortcuts == before + (path != "refused"), (selection, variables)
            if path == "plan":
                assert recorder.statements == (1, 1), (selection, variables)
    literal = '{ profile(customerId: "%s") { customerId activeServices { edges { node { serviceId } } } } }'
    resp, got = await recorder.both(client, {"query": literal % c["cid"]})
    assert got == "plan" and resp.json()["data"]["profile"]["customerId"] == c["cid"]
    # Beside other root fields: the console's first paint (the metadata, and the view) reads the view itself; a
    # root field reading more below it, or a second view, leave each root field to its resolvers.
    from ucs_graphql.web.console import FIRST_PAINT

    beside = [(FIRST_PAINT, {"id": c["cid"]}, 1),
              ("query($cid: String!, $sid: Long!) { service(serviceId: $sid) { extensions } "
               "profile(customerId: $cid) { activeServices { edges { node { states { stateId } } } } } }",
               {"cid": c["cid"], "sid": c["active"]}, 0),
              ("query($cid: String!) { a: profile(customerId: $cid) { activeServices { edges { node { serviceId } } } }"
               " b: profile(customerId: $cid) { services { edges { node { serviceId } } } } }", {"cid": c["cid"]}, 0)]
    for query, variables, reads in beside:
        before = shortcuts
        resp, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == "plan" and shortcuts == before + reads, (query, resp.text)
    # Not a customer view (a filter the view does not read, a field below read apart): the plain plan.
    for selection in ('services(status: ACTIVE) { edges { node { serviceId } } }',
                      'activeServices { edges { node { states(status: ALL) { stateId } } } }',
                      'activeServices { edges { node { extensions } } }'):
        before = shortcuts
        query = f"{_declared(selection)} {{ profile(customerId: $cid) {{ {selection} }} }}"
        resp, got = await recorder.both(client, {"query": query, "variables": {"cid": c["cid"]}})
        assert shortcuts == before and got == "plan", (selection, resp.text)


def _declared(selection: str) -> str:
    """The operation's head declaring $cid and the variables the selection uses."""
    types = {"first": "Int", "after": "String", "ifirst": "Int", "iafter": "String"}
    used = "".join(f", ${name}: {kind}" for name, kind in types.items() if f"${name}" in selection)
    return f"query($cid: String!{used})"


def _counted_reads(monkeypatch: Any) -> list[int]:
    """How many times a plan read a customer view itself (ucs_graphql.graphql.view_plan), in a one-item list."""
    from ucs_graphql.graphql import view_plan

    count = [0]
    read = view_plan._read

    async def counted(*args: Any) -> Any:
        count[0] += 1
        return await read(*args)

    monkeypatch.setattr(view_plan, "_read", counted)
    return count


_EVERYWHERE = """__typename a: id customerId b: attributes s: services(first: $first, after: $after) { __typename
  e: edges { __typename c: cursor n: node { __typename id serviceId estDurationMs durationMs duration completed {
  timestamp } disposition st: states { __typename id stateId previousStateId } t: tasks { __typename id taskId
  stateId } } } e2: edges { node { t2: tasks { taskId } } } p: pageInfo { __typename hasNextPage hasPreviousPage
  startCursor endCursor } } i: interactions(first: $ifirst, after: $iafter) { __typename edges { __typename cursor
  node { __typename id interactionId customerId serviceId entityType status type subType mediaType startDate endDate
  subject udata } } pageInfo { hasNextPage endCursor startCursor } }"""


async def test_customer_views_of_every_shape_answer_alike_with_plans_on_and_off(make_client, monkeypatch):
    """Customer-view documents with aliases and `__typename` everywhere, completed services, more services than
    the page, an interaction of every type, pages from literals and from variables absent, null or refused,
    cursors of other lists, and beside other root fields: the same bytes and statements as the full path,
    answered from the plan's own read whenever the full path answers without errors."""
    from tests.test_graphql_graph import customer_with_journey
    from tests.test_interactions import KINDS
    from tests.test_interactions import body as interaction

    reads = _counted_reads(monkeypatch)
    recorder = Recorder(monkeypatch)
    client = await make_client()
    c = await customer_with_journey(client, "E")
    cid = c["cid"]
    for kind in sorted(KINDS):
        resp = await client.post("/interactions", json=interaction(kind, customer_id=cid,
                                                                   start_date=f"2022-01-0{kind + 1}T00:00:00Z"))
        assert resp.status_code == 201, resp.text
    extra = [await start_service(client, customer_id=cid, service_type=101) for _ in range(3)]
    await start_state(client, extra[0])
    await start_task(client, extra[1])
    lonely = await create(client, {"FirstName": "Lone"})
    query = f"{_declared(_EVERYWHERE)} {{ __typename profile(customerId: $cid) {{ {_EVERYWHERE} }} }}"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (query, {"cid": cid}, "plan"),
        (query, {"cid": cid, "first": None, "after": None, "ifirst": None, "iafter": None}, "plan"),
        (query, {"cid": cid, "first": 0, "ifirst": 0}, "plan"),
        (query, {"cid": cid, "first": 2, "ifirst": 3}, "plan"),
        (query, {"cid": cid, "first": 2, "after": encode("service", c["active"])}, "plan"),
        (query, {"cid": lonely}, "plan"),
        (query, {"cid": "nobody"}, "fallback"),
        (query, {"cid": cid, "first": -1}, "fallback"),
        (query, {"cid": cid, "after": encode("interaction", 1, "x")}, "fallback"),
        (query, {"cid": cid, "iafter": encode("service", c["active"])}, "fallback"),
        (query, {"cid": cid, "after": encode("service", "x")}, "fallback"),
        (query, {"cid": cid, "after": encode("state", c["state"])}, "fallback"),
        (query, {"cid": cid, "iafter": encode("interaction", "x", "y")}, "fallback"),
    ]
    for page in ("first: 0", "first: null", "first: 2, after: null"):
        cases.append((f'{{ profile(customerId: "{cid}") {{ activeServices({page}) {{ edges {{ node {{ serviceId '
                      f"states {{ stateId }} }} }} pageInfo {{ hasNextPage }} }} interactions({page}) {{ edges {{ "
                      "node { __typename interactionId } } } } }", {}, "plan"))
    view = "profile(customerId: $cid) { activeServices { edges { node { serviceId tasks { taskId } } } } }"
    for other in ("__typename", "viewer { name }", "profiles(customerIds: [$cid, \"nobody\"]) { customerId }",
                  "customerServiceConnection(customerId: $cid) { edges { node { serviceId id } } }",
                  f"service(serviceId: {c['active']}) {{ serviceId id estDurationMs }}",
                  "customerInteractions(customerId: $cid) { id interactionId }"):
        cases += [(f"query($cid: String!) {{ {view} {other} }}", {"cid": cid}, "plan"),
                  (f"query($cid: String!) {{ {other} {view} }}", {"cid": cid}, "plan")]
    for query, variables, path in cases:
        before = reads[0]
        resp, got = await recorder.both(client, {"query": query, "variables": variables})
        assert got == path, (query, variables, resp.text)
        assert reads[0] == before + 1, (query, variables)
        if path == "plan":
            assert "errors" not in resp.json() and recorder.statements[0] in (1, 2), (query, variables)


async def test_a_customer_view_answers_alike_to_callers_of_every_reach(make_client, monkeypatch):
    """With access control on: a caller who may read profiles and services but not interactions, or profiles
    but not services, has a customer view refused whole on both paths; one who may read all it selects is
    answered from the plan's own read."""
    from tests.test_access_reach import as_user, config
    from tests.test_graphql_graph import customer_with_journey
    from ucs_graphql.access import tasks as t

    users = {"root": sorted(t.ALL_TASKS), "profiles": [t.READ_PROFILE],
             "services": [t.READ_PROFILE, t.READ_SERVICE], "tasks": [t.READ_PROFILE, t.READ_TASK],
             "interactions": [t.READ_PROFILE, t.READ_INTERACTION], "no_profiles": [t.READ_SERVICE, t.READ_INTERACTION]}
    reads = _counted_reads(monkeypatch)
    recorder = Recorder(monkeypatch)
    client = await make_client(config_text=config(users))
    client.headers.update(as_user("root"))
    cid = (await customer_with_journey(client, "R"))["cid"]
    with_interactions = ("query($cid: String!) { profile(customerId: $cid) { attributes activeServices { edges { "
                         "node { serviceId states { stateId } tasks { taskId } } } } interactions { edges { node { "
                         "interactionId } } } } }")
    without = ("query($cid: String!) { profile(customerId: $cid) { id services { edges { node { id tasks { taskId } "
               "} } } } }")
    allowed = {"root": {with_interactions, without}, "services": {without}}
    for user in users:
        for query in (with_interactions, without):
            before = reads[0]
            resp, got = await recorder.both(client, {"query": query, "variables": {"cid": cid}}, as_user(user))
            if query in allowed.get(user, ()):
                assert got == "plan" and reads[0] == before + 1 and recorder.statements == (1, 1), (user, resp.text)
            else:
                assert got == "full" and reads[0] == before, (user, query, resp.text)
                assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", resp.text
    resp, got = await recorder.both(client, {"query": without, "variables": {"cid": cid}}, {"authorization": ""})
    assert got == "full" and resp.status_code == 401, resp.text


async def test_a_customer_view_in_maintenance_mode_takes_the_full_path(make_client, monkeypatch):
    from tests.helpers import set_mode
    from tests.test_graphql_graph import VIEW, customer_with_journey

    recorder = Recorder(monkeypatch)
    client = await make_client()
    cid = (await customer_with_journey(client, "M"))["cid"]
    await set_mode(client, "maintenance")
    resp, got = await recorder.both(client, {"query": VIEW, "variables": {"cid": cid}})
    assert got == "fallback" and resp.json()["errors"][0]["extensions"]["code"] == "MODE_FORBIDDEN", resp.text
    await set_mode(client, "production")
    resp, got = await recorder.both(client, {"query": VIEW, "variables": {"cid": cid}})
    assert got == "plan" and recorder.statements == (1, 1), resp.text


async def test_a_customer_view_with_unreadable_attributes_fails_only_where_they_are_asked(make_client, monkeypatch,
                                                                                         database_url):
    """A customer whose attributes cannot be decrypted: a view asking for them is the full path's error on its
    `attributes` field; a view that does not ask for them is answered from the plan's own read, as the full
    path answers it (without errors), in one statement."""
    from tests.test_encryption import KEY, _store, _stored

    reads = _counted_reads(monkeypatch)
    recorder = Recorder(monkeypatch)
    client = await make_client(encryption_key=KEY)
    await define(client, attributes=[{"name": "SSN", "type": "string", "encrypt": True}])
    bad = await create(client, {"FirstName": "Bad", "SSN": "111"})
    await start_service(client, customer_id=bad)
    stored = await _stored(database_url, 1, bad)
    sealed = stored["SSN"][0]
    await _store(database_url, 1, bad, {**stored, "SSN": [sealed[:-6] + ("B" * 6 if sealed.endswith("A" * 6)
                                                                         else "A" * 6)]})
    selection = "customerId activeServices { edges { node { serviceId } } }"
    resp, got = await recorder.both(client, {"query": f"query($cid: String!) {{ profile(customerId: $cid) {{ "
                                             f"attributes {selection} }} }}", "variables": {"cid": bad}})
    assert got == "fallback", resp.text
    assert [(e["path"], e["extensions"]["code"]) for e in resp.json()["errors"]] == [
        (["profile", "attributes"], "UNREADABLE_VALUE")]
    before = reads[0]
    resp, got = await recorder.both(client, {"query": f"query($cid: String!) {{ profile(customerId: $cid) {{ "
                                             f"{selection} }} }}", "variables": {"cid": bad}})
    assert got == "plan" and reads[0] == before + 1 and recorder.statements == (1, 1), resp.text
    assert resp.json()["data"]["profile"]["activeServices"]["edges"] != [], resp.text
