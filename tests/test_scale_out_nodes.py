"""Three server processes on one PostgreSQL act as one server, through the whole REST call flow.

Requests go to a named node where the test must know which one answers, and to the next of the three ports
in turn (a round robin) otherwise:

- schemas: an extension schema of each level created on one node is read and used at once on the next;
  identification keys created on one node in a maintenance window the other nodes entered with it;
- reads after writes: a profile created, updated and given records on one node, identified and read on
  another; a service, its states and tasks started, ended and read across the three;
- interactions ingested (JSON, and multipart with binary content) on one node, read with their content on
  the others, and by customer and by service; several clients ingesting one id at once through different
  nodes, of whom exactly one succeeds; concurrent updates of one profile through different nodes;
- merge: a customer with records, a service and interactions merged into another on one node, everything
  following it as seen from the others; two merges of one source into two customers at once on two nodes,
  of which exactly one succeeds;
- the soak's clients (call flows, profile writes read back, interactions read back, merges, deletes), ten
  operations each, over the round robin;
- import: two imports whose files share unique e-mail addresses run at once on two nodes (one uploaded with
  its progress streamed, one named by path in the shared import directory and followed through its log);
  the third node reports maintenance meanwhile, and its switch back to production waits until both have
  ended. An import's progress is readable only from the node that runs it (its streamed answer) and from
  its log file; no node serves the progress of another node's import.

Afterwards bench/invariants.py checks the database against the ledger of every acknowledged write.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.invariants import Ledger, check
from bench.soak import KEYS, OFFERS_EXT, PHONE_EXT, drive
from tests.conftest import wipe
from tests.server_process import ServerProcess, serve

NODES = 3
CLIENTS = 12
STEPS = 10  # operations of the soak's mix per client (the clients' seeds make the mix the same every run)
IMPORT_ROWS = 600
IMPORT_BATCH = 20
SHARED_EVERY = 10  # every tenth row of both import files has the same e-mail address
STATE_EXT = {"name": "Visit", "type": "single-valued", "attributes": [{"name": "page", "type": "string"}]}
TASK_EXT = {"name": "Checklist", "type": "multi-valued", "unique": ["item"],
            "attributes": [{"name": "item", "type": "string", "mandatory": True}, {"name": "done", "type": "boolean"}]}
CHAT = {"entity_type": 2, "status": 3, "type": "Inbound", "media_type": "chat", "creator_app_id": 175,
        "start_date": "2026-01-02T03:04:05.000Z"}


class RoundRobin(httpx.AsyncBaseTransport):
    """Sends each request to the next of several servers (the request's URL names the first one)."""

    def __init__(self, ports: list[int], counts: Counter[int]) -> None:
        self.ports, self.counts = itertools.cycle(ports), counts
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self.ports)
        self.counts[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def expect(resp: httpx.Response, status: int) -> Any:
    """The decoded body of an answer that must have this status (None when it has no body)."""
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    if not resp.content or not resp.headers.get("content-type", "").startswith("application/json"):
        return None
    return resp.json()


def values(wire: Any) -> list[Any]:
    """An attribute's values as a list (the wire gives a single value alone)."""
    return wire if isinstance(wire, list) else [] if wire is None else [wire]


async def test_three_nodes_behind_a_round_robin_keep_every_invariant(database_url, backend, tmp_path):
    if backend != "postgres":
        pytest.skip("the nodes share a PostgreSQL database (SQLite serves one host: docs/scale-out.md; several "
                    "processes on one SQLite file are tested in tests/test_events_processes.py)")
    folder = tmp_path / "import"
    (folder / "1").mkdir(parents=True)
    config = f'import_dir = "{folder}"\n'
    ledger = Ledger()
    counts: Counter[int] = Counter()
    try:
        async with contextlib.AsyncExitStack() as stack:
            for n in range(NODES):
                (tmp_path / str(n)).mkdir()
            servers: list[ServerProcess] = list(await asyncio.gather(*(
                stack.enter_async_context(serve(tmp_path / str(n), database_url, config)) for n in range(NODES))))
            a, b, c = [await stack.enter_async_context(httpx.AsyncClient(base_url=s.base_url, timeout=60))
                       for s in servers]
            await schemas_at_once(a, b, c)
            await profile_across_nodes(a, b, c)
            await journey_across_nodes(a, b, c)
            await interactions_across_nodes(a, b, c, ledger)
            await merge_across_nodes(a, b, c, ledger)
            ports = [int(s.base_url.rsplit(":", 1)[1]) for s in servers]
            stats = await drive(servers[0].base_url, CLIENTS, 120, ledger,
                                transport=lambda: RoundRobin(ports, counts), steps=STEPS)
            print(stats.report())
            assert stats.server_errors() == 0 and stats.unexpected == [] and stats.no_answer == 0, stats.report()
            assert {"create", "update", "read_profile", "merge", "delete", "transition", "complete_svc",
                    "interaction", "read_interaction", "read_text"} <= set(stats.ms), stats.report()
            await imports_on_two_nodes(a, b, c, folder / "1", ledger)
        # Every node served its share of the round robin, and each server's access log shows it.
        assert set(counts) == set(ports) and min(counts.values()) >= sum(counts.values()) // NODES - CLIENTS
        assert all(s.access_records() for s in servers)
        assert ledger.gone and ledger.services and ledger.interactions and ledger.refused
        assert await check(database_url, ledger) == []
    finally:
        await wipe(database_url)


async def schemas_at_once(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient) -> None:
    """Each extension schema created on one node is read or used on the next without waiting (each node has
    the tenant's schemas cached before); keys created on one node in maintenance mode (entered on another)
    are there on a third once production is back."""
    for node in (a, b, c):
        assert expect(await node.get("/metadata/profiles/extensions"), 200) == []
    expect(await a.post("/metadata/profiles/extensions", json=PHONE_EXT), 201)
    assert expect(await b.get("/metadata/profiles/extensions/Phone"), 200)["name"] == "Phone"
    expect(await c.post("/profiles", json={"customer_id": "schema-check", "FirstName": "S",
                                           "Phone": [{"PhoneNumber": "+15550000000"}]}), 201)
    expect(await c.delete("/profiles/schema-check"), 200)
    sid = expect(await a.post("/services/start", json={"service_type": 1, "contact_key": "ck"}), 201)["service_id"]
    expect(await b.post("/metadata/services/extensions", json=OFFERS_EXT), 201)
    expect(await c.put(f"/services/{sid}/extensions/relatedOffers", json=[{"offer_name": "gold"}]), 200)
    expect(await c.post("/metadata/states/extensions", json=STATE_EXT), 201)
    state = expect(await a.post(f"/services/{sid}/states/start", json={"state_type": 8, "Visit": {"page": "p1"}}),
                   201)["state_id"]
    expect(await a.post("/metadata/tasks/extensions", json=TASK_EXT), 201)
    task = expect(await b.post(f"/services/{sid}/tasks/start", json={"task_type": 5, "state_id": state,
                                                                     "Checklist": [{"item": "one"}]}), 201)["task_id"]
    names = {s["name"] for s in expect(await c.get("/metadata/tasks/extensions"), 200)}
    assert "Checklist" in names, names
    got = expect(await c.get(f"/services/{sid}/tasks/{task}?extensions=Checklist"), 200)
    assert got["Checklist"] == [{"item": "one"}], got
    expect(await a.post("/server/mode", json={"mode": "maintenance"}), 200)
    for node in (a, b, c):
        assert expect(await node.get("/server/status"), 200)["mode"] == "maintenance"
    for key in KEYS:
        expect(await b.post("/metadata/identification-keys", json=key), 201)
    expect(await c.post("/server/mode", json={"mode": "production"}), 200)
    assert {k["name"] for k in expect(await a.get("/metadata/identification-keys"), 200)} == {"idEmail", "idPhone"}


async def profile_across_nodes(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient) -> None:
    """A profile written on one node is identified and read, with its records, on the others at once; two
    updates of it at once through two nodes leave one of them whole."""
    cid = expect(await a.post("/profiles", json={"FirstName": "Ann", "EmailAddress": ["ann@rr.test"], "Phone": [
        {"PhoneNumber": "+15550000001", "description": "home"}]}), 201)["customer_id"]
    assert expect(await b.get("/profiles", params={"Phone.PhoneNumber": "+15550000001"}), 200) == {"customer_id": cid}
    expect(await b.put(f"/profiles/{cid}", json={"FirstName": "Anna", "EmailAddress": ["anna@rr.test"]}), 200)
    got = expect(await c.get(f"/profiles/{cid}"), 200)
    assert (got["FirstName"], got["EmailAddress"]) == ("Anna", "anna@rr.test"), got
    assert expect(await a.get("/profiles", params={"EmailAddress": "anna@rr.test"}), 200) == {"customer_id": cid}
    assert expect(await a.get("/profiles", params={"EmailAddress": "ann@rr.test"}), 200) == []
    expect(await c.post(f"/profiles/{cid}/extensions", json={"Phone": [{"PhoneNumber": "+15550000002"}]}), 200)
    assert expect(await a.get("/profiles", params={"Phone.PhoneNumber": "+15550000002"}), 200) == {"customer_id": cid}
    expect(await a.put(f"/profiles/{cid}/extensions/Phone/by/unique",
                       json={"PhoneNumber": "+15550000002", "description": "work"}), 204)
    got = expect(await b.get(f"/profiles/{cid}", params={"extensions": "Phone"}), 200)
    assert {p["PhoneNumber"]: p.get("description") for p in got["Phone"]} == {
        "+15550000001": "home", "+15550000002": "work"}, got
    bodies = [{"FirstName": f"Racer{n}", "LastName": f"L{n}", "EmailAddress": [f"racer{n}@rr.test"]} for n in range(2)]
    for resp in await asyncio.gather(*(node.put(f"/profiles/{cid}", json=body)
                                       for node, body in zip((a, b), bodies, strict=True))):
        expect(resp, 200)
    got = expect(await c.get(f"/profiles/{cid}"), 200)
    won = next(body for body in bodies if body["FirstName"] == got["FirstName"])
    assert {k: values(got.get(k)) for k in won} == {k: values(v) for k, v in won.items()}, (got, bodies)
    assert expect(await a.get("/profiles", params={"EmailAddress": won["EmailAddress"][0]}), 200) == {
        "customer_id": cid}
    lost = next(body for body in bodies if body is not won)
    assert expect(await b.get("/profiles", params={"EmailAddress": lost["EmailAddress"][0]}), 200) == []
    expect(await c.delete(f"/profiles/{cid}"), 200)
    expect(await a.get(f"/profiles/{cid}"), 404)
    assert expect(await b.get("/profiles", params={"Phone.PhoneNumber": "+15550000001"}), 200) == []


async def journey_across_nodes(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient) -> None:
    """A service, its states and tasks started, ended and read through the three nodes in turn."""
    cid = expect(await c.post("/profiles", json={"customer_id": "journey-1", "FirstName": "J"}), 201)["customer_id"]
    sid = expect(await a.post("/services/start", json={"service_type": 100, "customer_id": cid}), 201)["service_id"]
    srv = f"/services/{sid}"
    first = expect(await b.post(f"{srv}/states/start", json={"state_type": 8}), 201)["state_id"]
    second = expect(await c.post(f"{srv}/states/transition", json={
        "from": {"state_id": first, "disposition": 1}, "to": {"state_type": 9}}), 201)["state_id"]
    task = expect(await a.post(f"{srv}/tasks/start", json={"task_type": 55, "state_id": second}), 201)["task_id"]
    assert [t["task_id"] for t in expect(await b.get(f"{srv}/tasks/active"), 200)] == [task]
    expect(await c.post(f"{srv}/tasks/{task}/end", json={}), 204)
    assert "completed" in expect(await a.get(f"{srv}/tasks/{task}"), 200)
    assert expect(await b.get(f"{srv}/tasks/active"), 200) == []
    assert [s["state_id"] for s in expect(await c.get(f"{srv}/states/completed"), 200)] == [first]
    expect(await a.post(f"{srv}/states/{second}/end", json={}), 200)
    assert [s["service_id"] for s in expect(await b.get(f"/customers/{cid}/services/active"), 200)] == [sid]
    expect(await c.post(f"{srv}/end", json={"disposition": 2}), 204)
    assert expect(await a.get(f"/customers/{cid}/services/active"), 200) == []
    assert [s["service_id"] for s in expect(await b.get(f"/customers/{cid}/services/completed"), 200)] == [sid]


async def interactions_across_nodes(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient,
                                    ledger: Ledger) -> None:
    """Interactions ingested on one node are read with their content on the others, by id, by customer and
    by service; one id ingested at once through every node is stored once."""
    cid = expect(await a.post("/profiles", json={"customer_id": "ixn-1", "FirstName": "I", "LastName": "X"}),
                 201)["customer_id"]
    ledger.created(cid, {"FirstName": ["I"], "LastName": ["X"]}, {})
    sid = expect(await b.post("/services/start", json={"service_type": 1, "customer_id": cid}), 201)["service_id"]
    ledger.service_started(sid, cid)
    expect(await a.post("/interactions", json={**CHAT, "interaction_id": "ixn-chat", "customer_id": cid,
                                               "service_id": sid, "text": "hello"}), 201)
    ledger.interaction_created("ixn-chat", cid)
    blob = bytes(range(256)) * 40
    resp = await b.post("/interactions", data={"interaction": json.dumps({**CHAT, "interaction_id": "ixn-shot",
                                                                          "customer_id": cid, "service_id": sid})},
                        files={"binary_content": ("shot.png", blob, "image/png")})
    expect(resp, 201)
    ledger.interaction_created("ixn-shot", cid)
    got = expect(await c.get("/interactions/ixn-chat"), 200)
    assert (got["customer_id"], got["service_id"], got["text"]) == (
        cid, sid, f"{c.base_url}/interactions/ixn-chat/plain_text"), got
    assert (await a.get("/interactions/ixn-chat/plain_text")).text == "hello"
    shot = await c.get("/interactions/ixn-shot/binary_content")
    assert (shot.status_code, shot.content, shot.headers["content-type"]) == (200, blob, "image/png")
    for node, path in ((a, f"/customers/{cid}/interactions"), (c, f"/services/{sid}/interactions")):
        assert sorted(i["interaction_id"] for i in expect(await node.get(path), 200)) == ["ixn-chat", "ixn-shot"]
    # One id through every node at once (two clients each): exactly one is stored, the others are 409.
    answers = await asyncio.gather(*(node.post("/interactions", json={
        **CHAT, "interaction_id": "ixn-once", "customer_id": cid, "text": f"by {n}"}) for n, node in
        enumerate((a, b, c, a, b, c))))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5, [(r.status_code, r.text) for r in answers]
    ledger.interaction_created("ixn-once", cid)
    winner = next(n for n, r in enumerate(answers) if r.status_code == 201)
    assert (await b.get("/interactions/ixn-once/plain_text")).text == f"by {winner}"


async def merge_across_nodes(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient,
                             ledger: Ledger) -> None:
    """A merge on one node moves attributes, records, services and interactions as every node then sees;
    two merges of one source at once on two nodes: one succeeds, the other finds the source gone."""
    people = {
        "mrg-dst": ({"FirstName": ["Dora"], "LastName": ["Dst"], "EmailAddress": ["dora@rr.test"]},
                    {"+15550000101": "dst"}),
        "mrg-src": ({"FirstName": ["Sam"], "LastName": ["Src"], "EmailAddress": ["sam@rr.test"]},
                    {"+15550000102": "src"}),
    }
    for node, (cid, (attrs, phones)) in zip((a, b), people.items(), strict=True):
        body: dict[str, Any] = {k: v if k == "EmailAddress" else v[0] for k, v in attrs.items()}
        body["Phone"] = [{"PhoneNumber": n, "description": d} for n, d in phones.items()]
        expect(await node.post("/profiles", json={"customer_id": cid, **body}), 201)
        ledger.created(cid, attrs, phones)
    sid = expect(await c.post("/services/start", json={"service_type": 1, "customer_id": "mrg-src"}),
                 201)["service_id"]
    ledger.service_started(sid, "mrg-src")
    expect(await a.post("/interactions", json={**CHAT, "interaction_id": "ixn-src", "customer_id": "mrg-src",
                                               "text": "from the source"}), 201)
    ledger.interaction_created("ixn-src", "mrg-src")
    expect(await b.put("/profiles/mrg-dst/merge/mrg-src"), 204)
    ledger.merged("mrg-dst", "mrg-src")
    expect(await c.get("/profiles/mrg-src"), 404)
    got = expect(await c.get("/profiles/mrg-dst", params={"extensions": "Phone"}), 200)
    assert (values(got["FirstName"]), values(got["EmailAddress"])) == (
        ["Dora", "Sam"], ["dora@rr.test", "sam@rr.test"]), got
    assert {p["PhoneNumber"] for p in got["Phone"]} == {"+15550000101", "+15550000102"}, got
    assert expect(await a.get("/profiles", params={"Phone.PhoneNumber": "+15550000102"}), 200) == {
        "customer_id": "mrg-dst"}
    assert expect(await b.get("/interactions/ixn-src"), 200)["customer_id"] == "mrg-dst"
    assert [i["interaction_id"] for i in expect(await c.get("/customers/mrg-dst/interactions"), 200)] == ["ixn-src"]
    assert [s["service_id"] for s in expect(await a.get("/customers/mrg-dst/services"), 200)] == [sid]
    # Two merges of one source into two customers at once, on two nodes.
    for cid in ("race-a", "race-b", "race-src"):
        expect(await c.post("/profiles", json={"customer_id": cid, "FirstName": cid, "LastName": "R"}), 201)
        ledger.created(cid, {"FirstName": [cid], "LastName": ["R"]}, {})
    expect(await a.post("/interactions", json={**CHAT, "interaction_id": "ixn-race", "customer_id": "race-src"}), 201)
    ledger.interaction_created("ixn-race", "race-src")
    answers = await asyncio.gather(a.put("/profiles/race-a/merge/race-src"), b.put("/profiles/race-b/merge/race-src"))
    assert sorted(r.status_code for r in answers) == [204, 404], [(r.status_code, r.text) for r in answers]
    winner = "race-a" if answers[0].status_code == 204 else "race-b"
    ledger.merged(winner, "race-src")
    assert values(expect(await c.get(f"/profiles/{winner}"), 200)["FirstName"]) == [winner, "race-src"]
    loser = "race-b" if winner == "race-a" else "race-a"
    assert values(expect(await c.get(f"/profiles/{loser}"), 200)["FirstName"]) == [loser]
    assert expect(await b.get("/interactions/ixn-race"), 200)["customer_id"] == winner


def import_file(prefix: str, label: str) -> tuple[str, list[tuple[str, dict[str, list[Any]], dict[str, Any]]]]:
    """A CSV of IMPORT_ROWS customers with given ids, and each row's customer id, attributes and phones;
    every SHARED_EVERY-th row's e-mail address is the same in every file (the idEmail key is unique)."""
    lines = ["customer_id,FirstName,LastName,EmailAddress,Phone.PhoneNumber,Phone.description"]
    rows = []
    for i in range(IMPORT_ROWS):
        cid = f"{prefix}-{i:05d}"
        email = f"both{i}@imp.test" if i % SHARED_EVERY == 0 else f"{prefix}.{i}@imp.test"
        phone = f"+1888{prefix[-1]}{i:06d}"
        lines.append(f"{cid},Imp,{label}{i},{email},{phone},imported")
        rows.append((cid, {"FirstName": ["Imp"], "LastName": [f"{label}{i}"], "EmailAddress": [email]},
                     {phone: "imported"}))
    return "\n".join(lines) + "\n", rows


async def imports_on_two_nodes(a: httpx.AsyncClient, b: httpx.AsyncClient, c: httpx.AsyncClient, tenant_dir: Path,
                               ledger: Ledger) -> None:
    """Two imports at once on B (uploaded, progress streamed) and C (by path, log followed) whose files share
    unique e-mail addresses; A reports maintenance meanwhile and its switch to production waits for each one
    still running."""
    first, first_rows = import_file("imp1", "One")
    second, second_rows = import_file("imp2", "Two")
    (tenant_dir / "second.csv").write_text(second)
    expect(await a.post("/server/mode", json={"mode": "maintenance"}), 200)
    description = {"format": "csv", "batch-size": IMPORT_BATCH, "create-log": True}
    progress: list[dict[str, Any]] = []
    ended: dict[str, float] = {}

    async def streamed() -> dict[str, Any]:
        files = {"description": (None, json.dumps(description), "application/json"),
                 "profiles": ("first.csv", first.encode(), "text/csv")}
        report: dict[str, Any] = {}
        async with b.stream("POST", "/profiles/import", files=files,
                            headers={"Accept": "application/x-ndjson"}) as resp:
            assert resp.status_code == 200, await resp.aread()
            async for line in resp.aiter_lines():
                doc = json.loads(line)
                if "progress" in doc:
                    progress.append(doc["progress"])
                else:
                    assert "report" in doc, doc
                    report = doc["report"]
        ended["first"] = time.monotonic()
        return report

    async def by_path() -> dict[str, Any]:
        report = expect(await c.post("/profiles/import", files={"description": (
            None, json.dumps({**description, "profiles": "second.csv"}), "application/json")}), 200)
        ended["second"] = time.monotonic()
        return report

    imports = {"first": asyncio.create_task(streamed()), "second": asyncio.create_task(by_path())}
    for node in (a, b, c):
        assert expect(await node.get("/server/status"), 200)["mode"] == "maintenance"
    log = tenant_dir / "second.csv.log"
    async with asyncio.timeout(60):
        # Both admitted (the second has started its log), the first past its first batch.
        while not ((log.exists() or imports["second"].done()) and progress):
            assert not imports["first"].done(), imports["first"].result()
            await asyncio.sleep(0.01)
    # A's switch to production waits for each import still running.
    sent = time.monotonic()
    running = [name for name, task in imports.items() if not task.done()]
    expect(await a.post("/server/mode", json={"mode": "production"}), 200)
    switched = time.monotonic()
    reports = await asyncio.gather(*imports.values())
    assert "first" in running, "the first import ended before the switch was sent: make it longer"
    assert all(sent < ended[name] <= switched for name in running), (sent, ended, switched, running)
    assert len(progress) >= 1 and progress[-1]["imported"] > 0, progress
    committed = [json.loads(line) for line in log.read_text().splitlines() if '"committed"' in line]
    assert committed[-1]["next-index"] == IMPORT_ROWS, committed[-1]
    refused: list[set[int]] = []
    for report, rows in zip(reports, (first_rows, second_rows), strict=True):
        assert report["complete"] and report["next-index"] == IMPORT_ROWS and report["ambiguous"] == [], report
        assert report["imported"] + len(report["errors"]) == IMPORT_ROWS, report
        refused.append({e["index"] for e in report["errors"]})
        assert all("idEmail" in e["reason"] or "both" in e["reason"] for e in report["errors"]), report["errors"]
        for i, (cid, attrs, phones) in enumerate(rows):
            if i in refused[-1]:
                ledger.create_refused(cid)
            else:
                ledger.created(cid, attrs, phones)
    # Each shared address went to exactly one of the two imports; no other row was refused.
    assert refused[0] | refused[1] == set(range(0, IMPORT_ROWS, SHARED_EVERY)), refused
    assert not refused[0] & refused[1], refused
    for node, i in ((a, 0), (b, SHARED_EVERY), (c, 2 * SHARED_EVERY)):
        owner = "imp1" if i in refused[1] else "imp2"
        assert expect(await node.get("/profiles", params={"EmailAddress": f"both{i}@imp.test"}), 200) == {
            "customer_id": f"{owner}-{i:05d}"}
    assert expect(await c.get("/profiles", params={"Phone.PhoneNumber": "+18881000001"}), 200) == {
        "customer_id": "imp1-00001"}
    got = expect(await a.get("/profiles/imp2-00003", params={"extensions": "Phone"}), 200)
    assert (got["LastName"], got["Phone"]) == ("Two3", [{"PhoneNumber": "+18882000003", "description": "imported"}])
