"""Soak: N concurrent clients through a realistic mix for a bounded time, then the invariant checker.

Each client owns a few customers (no two clients write one customer) and loops over: a call flow
(identify → start service → start state → transition → start task → service extension → complete task →
complete state and service, or leave it active), profile creates and updates (each read back) whose e-mail
addresses and phone numbers sometimes come from a small shared pool (deliberate unique-key collisions: 409 is
expected then, and only then), Phone record inserts and updates by unique, interactions ingested (on the
customer's last service) and read back with their text, merges of two of its customers, and deletes.
Every acknowledged write goes into a Ledger; afterwards bench.invariants checks the database against it and
on its own. Prints requests/s, p50/p99 per operation, answers by status; exits 1 on any 5xx, unexpected
status or invariant violation.

    python -m bench.soak --url http://127.0.0.1:8080 --database sqlite:///./var/ucs.db --clients 200 --minutes 10
    python -m bench.soak --database postgresql://postgres@127.0.0.1:5432/soak --clients 200 --minutes 10

With --url only, the invariants are not checked (the checker reads the database); with --database only,
the script starts `ucs-graphql serve` on that database (--workers processes) and stops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.invariants import Ledger, check
from bench.launch import launched

PHONE_EXT = {"name": "Phone", "type": "multi-valued", "unique": ["PhoneNumber"], "attributes": [
    {"name": "PhoneNumber", "type": "string", "length": 32, "mandatory": True},
    {"name": "description", "type": "string"}]}
OFFERS_EXT = {"name": "relatedOffers", "type": "multi-valued", "unique": ["offer_name"], "attributes": [
    {"name": "offer_name", "type": "string", "mandatory": True}, {"name": "comments", "type": "string"}]}
KEYS = [{"name": "idEmail", "attributes": ["EmailAddress"], "unique": True, "normalize": "email"},
        {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "unique": True, "normalize": "phone"}]
SHARED_POOL = 40
MIX = {"flow": 40, "update": 14, "insert_phone": 12, "update_phone": 10, "interaction": 8, "create": 12, "merge": 6,
       "delete": 6}


@dataclass
class Stats:
    """Latencies and answers per operation, and what went wrong."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    unexpected: list[str] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    no_answer: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.ms.values())

    def by_status(self) -> Counter[int]:
        """Answers of every operation, by status."""
        total: Counter[int] = Counter()
        for c in self.statuses.values():
            total.update(c)
        return total

    def server_errors(self) -> int:
        """How many answers were 5xx."""
        return sum(n for s, n in self.by_status().items() if s >= 500)

    def report(self) -> str:
        """The figures as printed lines."""
        lines = [f"{self.requests} requests in {self.seconds:.1f} s: {self.requests / max(self.seconds, 1e-9):.0f}"
                 " requests/s", f"{'operation':<16}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses"]
        for op in sorted(self.ms):
            xs = sorted(self.ms[op])
            p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
            codes = " ".join(f"{s}:{n}" for s, n in sorted(self.statuses[op].items()))
            lines.append(f"{op:<16}{len(xs):>8}{statistics.median(xs):>9.1f}{p99:>9.1f}  {codes}")
        lines.append("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status().items())))
        lines.append(f"5xx: {self.server_errors()}, unexpected answers: {len(self.unexpected)}, "
                     f"requests without an answer: {self.no_answer}")
        lines += [f"  unexpected: {u}" for u in self.unexpected[:20]]
        return "\n".join(lines)


def _values(wire: Any) -> list[Any]:
    """An attribute's values as a list (the wire gives a single value alone)."""
    return wire if isinstance(wire, list) else [] if wire is None else [wire]


class NoAnswer(Exception):
    """The request got no answer (the outcome of a write is unknown)."""


class Client:
    """One simulated client: its customers, its requests, what it saw acknowledged."""

    def __init__(self, http: httpx.AsyncClient, n: int, ledger: Ledger, stats: Stats, seed: int) -> None:
        self.http, self.n, self.ledger, self.stats = http, n, ledger, stats
        self.rng = random.Random(seed * 100_003 + n)
        self.owned: list[str] = []
        self.last_service: dict[str, int] = {}  # customer -> the last service the client started for it
        self.seq = itertools.count()

    async def call(self, op: str, method: str, url: str, ok: set[int], **kw: Any) -> httpx.Response:
        """Send a request, record its latency and status; NoAnswer when there was none, or a 5xx."""
        t0 = time.perf_counter()
        self.stats.in_flight[op] += 1
        try:
            resp = await self.http.request(method, url, **kw)
        except httpx.TransportError as err:
            self.stats.no_answer += 1
            raise NoAnswer(op) from err
        finally:
            self.stats.in_flight[op] -= 1
        self.stats.ms[op].append((time.perf_counter() - t0) * 1000)
        self.stats.statuses[op][resp.status_code] += 1
        if resp.status_code >= 500:
            self.stats.unexpected.append(f"{op} {method} {url}: {resp.status_code} {resp.text[:200]}")
            raise NoAnswer(op)
        if resp.status_code not in ok:
            self.stats.unexpected.append(f"{op} {method} {url}: {resp.status_code} {resp.text[:200]}")
        return resp

    async def write(self, op: str, method: str, url: str, ok: set[int], customers: list[str], *,
                    existence: bool = False, **kw: Any) -> httpx.Response:
        """A write on these customers: when it gets no answer (or is cancelled), the ledger forgets what it
        knew of their values (and existence)."""
        answered = False
        try:
            resp = await self.call(op, method, url, ok, **kw)
            answered = True
            return resp
        finally:
            if not answered:
                self.ledger.unanswered(customers, existence=existence)

    def email(self) -> tuple[str, bool]:
        """An e-mail address, and whether it comes from the shared pool (a collision is expected then)."""
        if self.rng.random() < 0.3:
            return f"Shared{self.rng.randrange(SHARED_POOL)}@Soak.Test", True
        return f"c{self.n}.{next(self.seq)}@soak.test", False

    def phone(self) -> tuple[str, bool]:
        """A phone number, and whether it comes from the shared pool."""
        if self.rng.random() < 0.1:
            return f"+1999{self.rng.randrange(SHARED_POOL):06d}", True
        return f"+1{self.n:05d}{next(self.seq):07d}", False

    async def create(self) -> None:
        """Create a customer with an e-mail address and a phone number."""
        (email, shared_email), (number, shared_phone) = self.email(), self.phone()
        attrs = {"FirstName": [f"F{self.n}"], "LastName": [f"L{next(self.seq)}"], "EmailAddress": [email]}
        body = {k: v[0] if k != "EmailAddress" else v for k, v in attrs.items()}
        body["Phone"] = [{"PhoneNumber": number, "description": "home"}]
        ok = {201, 409} if shared_email or shared_phone else {201}
        resp = await self.call("create", "POST", "/profiles", ok, json=body)
        if resp.status_code == 201:
            cid = resp.json()["customer_id"]
            self.ledger.created(cid, attrs, {number: "home"})
            self.owned.append(cid)

    async def update(self, cid: str) -> None:
        """Replace a customer's attributes (a new e-mail address; sometimes its phones too)."""
        email, shared = self.email()
        attrs = {"FirstName": [f"U{next(self.seq)}"], "LastName": [f"L{self.n}"], "EmailAddress": [email]}
        body: dict[str, Any] = {k: v[0] if k != "EmailAddress" else v for k, v in attrs.items()}
        phones = None
        if self.rng.random() < 0.3:
            number, shared_phone = self.phone()
            shared = shared or shared_phone
            phones = {number: "replaced"}
            body["Phone"] = [{"PhoneNumber": number, "description": "replaced"}]
        resp = await self.write("update", "PUT", f"/profiles/{cid}", {200, 409} if shared else {200}, [cid],
                                json=body)
        if resp.status_code == 200:
            self.ledger.updated(cid, attrs, phones)
            got = await self.call("read_profile", "GET", f"/profiles/{cid}", {200})
            if got.status_code == 200 and {k: _values(got.json().get(k)) for k in attrs} != attrs:
                self.stats.unexpected.append(f"read_profile {cid}: {got.text[:200]}, acknowledged {attrs}")

    async def insert_phone(self, cid: str) -> None:
        """Insert a Phone record: a new number, or one the customer has (the insert replaces that record)."""
        known = self.ledger.customers[cid].phones
        if known and self.rng.random() < 0.4:
            number, shared = self.rng.choice(sorted(known)), False
        else:
            number, shared = self.phone()
        desc = f"ins{next(self.seq)}"
        resp = await self.write("insert_phone", "POST", f"/profiles/{cid}/extensions",
                                {200, 409} if shared else {200}, [cid],
                                json={"Phone": [{"PhoneNumber": number, "description": desc}]})
        if resp.status_code == 200:
            self.ledger.phone_written(cid, number, desc)

    async def update_phone(self, cid: str) -> None:
        """Update the description of one of the customer's phone records by its unique number."""
        known = self.ledger.customers[cid].phones
        if not known:
            return
        number, desc = self.rng.choice(sorted(known)), f"upd{next(self.seq)}"
        resp = await self.write("update_phone", "PUT", f"/profiles/{cid}/extensions/Phone/by/unique", {204},
                                [cid], json={"PhoneNumber": number, "description": desc})
        if resp.status_code == 204:
            self.ledger.phone_written(cid, number, desc)

    async def flow(self, cid: str) -> None:
        """Identify the customer by phone, then a service with states, a task and an extension."""
        known = self.ledger.customers[cid].phones
        if known:
            number = self.rng.choice(sorted(known))
            resp = await self.call("identify", "GET", "/profiles", {200}, params={"Phone.PhoneNumber": number})
            if resp.status_code == 200 and resp.json() != {"customer_id": cid}:
                self.stats.unexpected.append(f"identify {number}: {resp.text[:200]}, expected {cid}")
        resp = await self.call("start_service", "POST", "/services/start", {201},
                               json={"service_type": 100, "customer_id": cid, "interaction_id": f"i{self.n}"})
        if resp.status_code != 201:
            return
        sid = resp.json()["service_id"]
        journey = self.ledger.service_started(sid, cid)
        self.last_service[cid] = sid
        srv = f"/services/{sid}"
        resp = await self.call("start_state", "POST", f"{srv}/states/start", {201}, json={"state_type": 8})
        if resp.status_code != 201:
            return
        first = resp.json()["state_id"]
        journey.states[first] = False
        resp = await self.call("transition", "POST", f"{srv}/states/transition", {201},
                               json={"from": {"state_id": first, "disposition": 1}, "to": {"state_type": 9}})
        if resp.status_code != 201:
            return
        state = resp.json()["state_id"]
        journey.states[first], journey.states[state] = True, False
        resp = await self.call("start_task", "POST", f"{srv}/tasks/start", {201},
                               json={"task_type": 55, "state_id": state})
        if resp.status_code != 201:
            return
        task = resp.json()["task_id"]
        journey.tasks[task] = False
        await self.call("service_ext", "PUT", f"{srv}/extensions/relatedOffers", {200},
                        json=[{"offer_name": "gold", "comments": f"c{next(self.seq)}"}])
        if (await self.call("complete_task", "POST", f"{srv}/tasks/{task}/end", {204}, json={})).status_code == 204:
            journey.tasks[task] = True
        if self.rng.random() < 0.3:
            return  # the service stays active (merges move it, deletes remove it)
        if (await self.call("complete_state", "POST", f"{srv}/states/{state}/end", {200}, json={})).status_code == 200:
            journey.states[state] = True
        if (await self.call("complete_svc", "POST", f"{srv}/end", {204}, json={"disposition": 2})).status_code == 204:
            journey.completed = True

    async def interaction(self, cid: str) -> None:
        """Ingest a chat interaction of the customer (on its last service, if any), then read it and its text."""
        iid, text = f"soak-{self.n}-{next(self.seq)}", f"hello {self.rng.random()}"
        body: dict[str, Any] = {"interaction_id": iid, "customer_id": cid, "entity_type": 2, "status": 3,
                                "type": "Inbound", "media_type": "chat", "creator_app_id": 1,
                                "start_date": "2026-01-02T03:04:05.000Z", "text": text}
        if cid in self.last_service:
            body["service_id"] = self.last_service[cid]
        if (await self.call("interaction", "POST", "/interactions", {201}, json=body)).status_code != 201:
            return
        self.ledger.interaction_created(iid, cid)
        got = await self.call("read_interaction", "GET", f"/interactions/{iid}", {200})
        if got.status_code == 200 and (got.json().get("customer_id"), got.json().get("service_id")) != (
                cid, body.get("service_id")):
            self.stats.unexpected.append(f"read_interaction {iid}: {got.text[:200]}, acknowledged {body}")
        got = await self.call("read_text", "GET", f"/interactions/{iid}/plain_text", {200})
        if got.status_code == 200 and got.text != text:
            self.stats.unexpected.append(f"read_text {iid}: {got.text[:100]!r}, acknowledged {text!r}")

    async def merge(self) -> None:
        """Merge one of the client's customers into another."""
        src, dst = self.rng.sample(self.owned, 2)
        self.owned.remove(src)
        self.last_service.pop(src, None)
        resp = await self.write("merge", "PUT", f"/profiles/{dst}/merge/{src}", {204}, [dst, src], existence=True)
        if resp.status_code == 204:
            self.ledger.merged(dst, src)

    async def delete(self) -> None:
        """Delete one of the client's customers (with its services)."""
        cid = self.owned.pop(self.rng.randrange(len(self.owned)))
        resp = await self.write("delete", "DELETE", f"/profiles/{cid}", {200}, [cid], existence=True)
        if resp.status_code == 200:
            self.ledger.deleted(cid)

    async def step(self) -> None:
        """One operation of the mix (creates first while the client has fewer than two customers)."""
        ops, weights = zip(*MIX.items(), strict=True)
        op = "create" if len(self.owned) < 2 else self.rng.choices(ops, weights)[0]
        if op in ("create", "merge", "delete"):
            await getattr(self, op)()
            return
        cid = self.rng.choice(self.owned)
        if cid in self.ledger.customers and self.ledger.customers[cid].phones is not None:
            await getattr(self, op)(cid)

    async def run(self, until: float, steps: int | None = None) -> None:
        """Loop over the mix until the monotonic deadline (or after `steps` operations)."""
        done = 0
        while time.monotonic() < until and (steps is None or done < steps):
            done += 1
            try:
                await self.step()
            except NoAnswer:
                await asyncio.sleep(0.05)


async def prepare(http: httpx.AsyncClient) -> None:
    """Create the soak's extension schemas and unique keys (kept when they exist)."""
    for path, doc in (("/metadata/profiles/extensions", PHONE_EXT), ("/metadata/services/extensions", OFFERS_EXT)):
        resp = await http.post(path, json=doc)
        assert resp.status_code in (201, 409), resp.text
    have = {k["name"] for k in (await http.get("/metadata/identification-keys")).json()}
    missing = [k for k in KEYS if k["name"] not in have]
    if missing:
        resp = await http.post("/server/mode", json={"mode": "maintenance"})
        assert resp.status_code == 200, resp.text
        for key in missing:
            resp = await http.post("/metadata/identification-keys", json=key)
            assert resp.status_code == 201, resp.text
        resp = await http.post("/server/mode", json={"mode": "production"})
        assert resp.status_code == 200, resp.text


async def drive(base_url: str, clients: int, seconds: float, ledger: Ledger, seed: int = 1,
                stats: Stats | None = None,
                transport: Callable[[], httpx.AsyncBaseTransport] | None = None, steps: int | None = None) -> Stats:
    """Run `clients` clients against the server for `seconds`; the ledger records acknowledged writes.
    `transport` makes each client's transport (e.g. one spreading requests over several servers); with `steps`
    each client stops after that many operations of the mix, if `seconds` have not run out first."""
    stats = stats if stats is not None else Stats()
    async with contextlib.AsyncExitStack() as stack:
        # One connection per client: a shared pool of hundreds of connections costs the driver O(n) per request.
        https = [await stack.enter_async_context(httpx.AsyncClient(
            base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=1),
            **({"transport": transport()} if transport is not None else {}))) for _ in range(clients)]
        await prepare(https[0])
        t0 = time.monotonic()
        await asyncio.gather(*(Client(https[n], n, ledger, stats, seed).run(t0 + seconds, steps)
                               for n in range(clients)))
        stats.seconds = time.monotonic() - t0
    return stats


async def soak(args: argparse.Namespace) -> int:
    """Run the soak as the arguments say, print the figures; 0 when nothing went wrong."""
    ledger = Ledger()
    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            url = args.url
        else:
            folder = Path(tempfile.mkdtemp(prefix="soak-"))
            url = (await stack.enter_async_context(launched(args.database, folder, workers=args.workers))).url
        print(f"soak: {args.clients} clients for {args.minutes} min against {url}", flush=True)
        stats = await drive(url, args.clients, args.minutes * 60, ledger, args.seed)
    print(stats.report())
    failed = bool(stats.server_errors() or stats.unexpected or stats.no_answer)
    if args.database:
        violations = await check(args.database, ledger)
        for line in violations[:50]:
            print(f"  violation: {line}")
        print(f"invariant violations: {len(violations)} ({len(ledger.customers)} live customers, "
              f"{len(ledger.gone)} deleted or merged away, {len(ledger.services)} services acknowledged)")
        failed = failed or bool(violations)
    else:
        print("invariants not checked: give --database to check them")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the soak."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one on --database)")
    parser.add_argument("--database", help="the server's database (checked afterwards)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes when starting one")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not args.url and not args.database:
        parser.error("give --url, --database, or both")
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
