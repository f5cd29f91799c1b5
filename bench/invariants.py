"""Invariant checker: reads a database and lists every broken rule (the soak and crash tests expect none).

Rules the data must keep whatever happened to the server:
- the identification index equals what the stored profiles and records give: every entry points at an
  existing profile and matches its current values, no profile value lacks its entry, a unique key's value
  belongs to one customer;
- extension records: the unique rows equal what the records give, no two records of one owner share unique
  values, a single-valued extension has at most one record, every record has its owner and its schema;
- no state or task without its service (a task's state and a state's previous state in the same service);
- a completed item carries its end event (with its timestamp) and so its duration; an active one has none;
- interactions: every content part belongs to an interaction and holds the bytes its size says, and an
  interaction's flags name exactly the parts it has.
With a Ledger (the acknowledged writes a driver recorded) also: every acknowledged write is there (profiles,
records, services and their items, interactions with the customer a merge gave them), every acknowledged
delete or merge-away is gone with its records, services and interactions, and a refused create (an
import's refused row) left no profile.

    python -m bench.invariants --database sqlite:///./var/soak.db
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ucs_graphql.config import Settings, load_settings
from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.crypto.fields import open_profile, open_record
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.db.tables.interactions import interaction, interaction_content
from ucs_graphql.db.tables.journeys import service, state, task
from ucs_graphql.db.tables.profiles import ident_entry, profile
from ucs_graphql.extensions.store import unique_keys
from ucs_graphql.identification.index import key_entries
from ucs_graphql.kit import jsonio
from ucs_graphql.metadata.cache import TenantSchemas, build_tenant
from ucs_graphql.metadata.store import load_documents

Data = dict[str, list[Any]]
Records = dict[str, list[dict[str, Any]]]
# The profile attributes and the extension a driver manages (the ledger compares these).
LEDGER_ATTRIBUTES = ("FirstName", "LastName", "EmailAddress")
LEDGER_EXTENSION = "Phone"


@dataclass
class Customer:
    """What the acknowledged writes say about a customer; None where an unanswered write left it unknown."""

    attrs: Data | None
    phones: dict[str, str | None] | None  # PhoneNumber -> description


@dataclass
class Journey:
    """A service the driver started: its customer, and the items whose start or end was acknowledged."""

    customer_id: str | None
    completed: bool = False
    states: dict[int, bool] = field(default_factory=dict)  # state id -> completion acknowledged
    tasks: dict[int, bool] = field(default_factory=dict)


@dataclass
class Ledger:
    """Acknowledged writes, recorded by a driver as the answers arrive (one owner per customer at a time)."""

    customers: dict[str, Customer] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # acknowledged delete or merge-away
    unsure: set[str] = field(default_factory=set)  # a delete or merge without an answer: existence unknown
    services: dict[int, Journey] = field(default_factory=dict)
    interactions: dict[str, str] = field(default_factory=dict)  # acknowledged interaction id -> its customer
    refused: set[str] = field(default_factory=set)  # customer ids whose create was refused: never stored

    def created(self, cid: str, attrs: Data, phones: dict[str, str | None]) -> None:
        """A profile create was acknowledged."""
        self.customers[cid] = Customer(attrs, dict(phones))

    def updated(self, cid: str, attrs: Data, phones: dict[str, str | None] | None) -> None:
        """A profile update was acknowledged (phones None: the body left the extension alone)."""
        got = self.customers[cid]
        got.attrs = attrs
        if phones is not None:
            got.phones = dict(phones)

    def phone_written(self, cid: str, number: str, description: str | None) -> None:
        """A Phone record insert (or update by unique) was acknowledged."""
        phones = self.customers[cid].phones
        if phones is not None:
            phones[number] = description

    def deleted(self, cid: str) -> None:
        """A profile delete was acknowledged: the profile and its services are gone."""
        self.customers.pop(cid, None)
        self.gone.add(cid)
        self.interactions = {iid: owner for iid, owner in self.interactions.items() if owner != cid}

    def merged(self, dst: str, src: str) -> None:
        """A merge (no options) was acknowledged: attributes and records as the merge rules say, services moved."""
        a, b = self.customers.pop(dst), self.customers.pop(src)
        attrs = None
        if a.attrs is not None and b.attrs is not None:
            attrs = {k: list(v) for k, v in a.attrs.items()}
            for name, values in b.attrs.items():
                have = attrs.setdefault(name, [])
                have += [v for v in values if v not in have]
        phones = None
        if a.phones is not None and b.phones is not None:
            phones = {**b.phones, **a.phones}  # the destination's record wins a unique clash
        self.customers[dst] = Customer(attrs, phones)
        self.gone.add(src)
        for journey in self.services.values():
            if journey.customer_id == src:
                journey.customer_id = dst
        for iid, owner in self.interactions.items():
            if owner == src:
                self.interactions[iid] = dst

    def service_started(self, service_id: int, cid: str) -> Journey:
        """A service start was acknowledged; the returned Journey records its items."""
        journey = self.services[service_id] = Journey(cid)
        return journey

    def interaction_created(self, interaction_id: str, cid: str) -> None:
        """An interaction ingest for this customer was acknowledged."""
        self.interactions[interaction_id] = cid

    def create_refused(self, cid: str) -> None:
        """A create with this customer id was refused (an import's refused row): no profile may have it."""
        self.refused.add(cid)

    def unanswered(self, cids: list[str], *, existence: bool = False) -> None:
        """A write on these customers got no answer: their values (and, for a delete or merge, existence) are
        unknown from now on."""
        for cid in cids:
            got = self.customers.get(cid)
            if got is not None:
                got.attrs = got.phones = None
            if existence:
                self.unsure.add(cid)


@dataclass
class Snapshot:
    """Every row the checks read, of one tenant."""

    tenant: int
    schemas: TenantSchemas
    profiles: dict[str, Data]
    entries: list[Any]
    records: list[Any]
    uniques: list[Any]
    services: dict[int, Any]
    states: dict[int, Any]
    tasks: dict[int, Any]
    interactions: dict[str, Any]
    contents: list[Any]


async def snapshot(conn: AsyncConnection, tenant: int, settings: Settings) -> Snapshot:
    """Read the tenant's schemas, profiles, index, extension records and journeys."""
    schemas = build_tenant(settings, await load_documents(conn, tenant))

    async def rows(table: Any) -> list[Any]:
        return list(await conn.execute(select(table).where(table.c.tenant_id == tenant)))

    return Snapshot(
        tenant=tenant, schemas=schemas,
        profiles={r.customer_id: jsonio.loads(r.data) for r in await rows(profile)},
        entries=await rows(ident_entry), records=await rows(extension_record), uniques=await rows(extension_unique),
        services={r.service_id: r for r in await rows(service)}, states={r.state_id: r for r in await rows(state)},
        tasks={r.task_id: r for r in await rows(task)},
        interactions={r.interaction_id: r for r in await rows(interaction)}, contents=await rows(interaction_content))


def profile_records(snap: Snapshot) -> dict[str, Records]:
    """Stored profile extension records: customer -> extension (lower case) -> records in order."""
    out: dict[str, Records] = defaultdict(lambda: defaultdict(list))
    for r in sorted((r for r in snap.records if r.level == "profile"), key=lambda r: r.rec_no):
        out[r.owner][r.ext].append(jsonio.loads(r.data))
    return out


def check_index(snap: Snapshot, cipher: FieldCipher | None) -> list[str]:
    """The identification index equals the entries the stored values give, and unique keys hold."""
    out: list[str] = []
    keys = {k.key: k for k in snap.schemas.keys}
    records = profile_records(snap)
    wanted: set[tuple[str, str, str]] = set()
    for cid, data in snap.profiles.items():
        attrs = open_profile(snap.schemas.profile_attributes, cipher, snap.tenant, data)
        plain: Records = {}
        for ext, recs in records.get(cid, {}).items():
            schema = snap.schemas.extension("profile", ext)
            if schema is not None:
                plain[ext] = [open_record(schema, cipher, snap.tenant, r) for r in recs]
        for key in keys.values():
            wanted |= {(key.key, v, cid) for v in key_entries(key, snap.schemas, cipher, attrs, plain)}
    stored: set[tuple[str, str, str]] = set()
    for e in snap.entries:
        key = keys.get(e.key)
        stored.add((e.key, e.value, e.customer_id))
        if key is None:
            out.append(f"index entry of key '{e.key}', which does not exist (customer {e.customer_id})")
        elif e.slot != ("" if key.unique else e.customer_id):
            out.append(f"index entry {e.key}={e.value!r} of {e.customer_id} has slot {e.slot!r}")
        if e.customer_id not in snap.profiles:
            out.append(f"index entry {e.key}={e.value!r} points at customer {e.customer_id}, who has no profile")
    for k, v, cid in sorted(stored - wanted):
        if cid in snap.profiles and k in keys:
            out.append(f"index entry {k}={v!r} of {cid} matches none of the customer's current values")
    for k, v, cid in sorted(wanted - stored):
        out.append(f"customer {cid} has a value of key '{k}' ({v!r}) with no index entry")
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for k, v, cid in wanted:
        if keys[k].unique:
            owners[(k, v)].add(cid)
    for (k, v), cids in sorted(owners.items()):
        if len(cids) > 1:
            out.append(f"unique key '{k}' value {v!r} belongs to several customers: {sorted(cids)}")
    return out


def _owner_exists(snap: Snapshot, level: str, owner: str) -> bool:
    if level == "profile":
        return owner in snap.profiles
    table = {"service": snap.services, "state": snap.states, "task": snap.tasks}.get(level)
    return table is not None and owner.isdigit() and int(owner) in table


def check_extensions(snap: Snapshot) -> list[str]:
    """Unique rows equal what the records give; unique values and single-valued extensions hold per owner."""
    out: list[str] = []
    wanted: dict[tuple[str, str, str, int, str], int] = {}
    per_ext: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in snap.records:
        where = f"{r.level} {r.owner} extension '{r.ext}' record {r.rec_no}"
        if not _owner_exists(snap, r.level, r.owner):
            out.append(f"{where}: its owner does not exist")
        schema = snap.schemas.extension(r.level, r.ext)
        if schema is None:
            out.append(f"{where}: the extension has no schema")
            continue
        per_ext[(r.level, r.owner, r.ext)] += 1
        if not schema.multi and per_ext[(r.level, r.owner, r.ext)] == 2:
            out.append(f"{where}: a second record of a single-valued extension")
        for grp, value in unique_keys(schema, jsonio.loads(r.data)):
            slot = (r.level, r.owner, r.ext, grp, value)
            if slot in wanted and schema.multi:
                out.append(f"{where}: same unique values (group {grp}) as record {wanted[slot]}")
            wanted[slot] = r.rec_no
    # Group 0 with no value is the row a single-valued record had before it needed none: it may remain.
    stored = {(u.level, u.owner, u.ext, u.grp, u.value): u.rec_no for u in snap.uniques if (u.grp, u.value) != (0, "")}
    for slot, rec_no in sorted(stored.items()):
        if wanted.get(slot) != rec_no:
            out.append(f"unique row {slot[:4]} -> record {rec_no} matches no record's values")
    for slot, rec_no in sorted(wanted.items()):
        if slot not in stored:
            out.append(f"{slot[0]} {slot[1]} extension '{slot[2]}' record {rec_no}: no unique row for group {slot[3]}")
    return out


def _check_item(level: str, item_id: int, row: Any) -> list[str]:
    """An item's start and end: a completed one has its end event with a timestamp, an active one none."""
    where = f"{level} {item_id}"
    if row.started_at is None or "timestamp" not in jsonio.loads(row.started):
        return [f"{where}: no start event timestamp"]
    if (row.completed_at is None) != (row.completed is None):
        return [f"{where}: completed_at and the end event disagree"]
    if row.completed is not None and "timestamp" not in jsonio.loads(row.completed):
        return [f"{where}: end event without a timestamp"]
    return []


def check_journeys(snap: Snapshot) -> list[str]:
    """No state or task without its service; items carry consistent start and end events."""
    out: list[str] = []
    for sid, row in snap.services.items():
        out += _check_item("service", sid, row)
    for st_id, row in snap.states.items():
        out += _check_item("state", st_id, row)
        if row.service_id not in snap.services:
            out.append(f"state {st_id}: its service {row.service_id} does not exist")
        prev = row.previous_state_id
        if prev is not None and (prev not in snap.states or snap.states[prev].service_id != row.service_id):
            out.append(f"state {st_id}: previous state {prev} is not a state of service {row.service_id}")
    for tk_id, row in snap.tasks.items():
        out += _check_item("task", tk_id, row)
        if row.service_id not in snap.services:
            out.append(f"task {tk_id}: its service {row.service_id} does not exist")
        if row.state_id is not None and (row.state_id not in snap.states
                                         or snap.states[row.state_id].service_id != row.service_id):
            out.append(f"task {tk_id}: state {row.state_id} is not a state of service {row.service_id}")
    return out


def check_interactions(snap: Snapshot) -> list[str]:
    """Every content part has its interaction and the size it holds; the flags name the parts there are."""
    out: list[str] = []
    parts: dict[str, set[str]] = defaultdict(set)
    for c in snap.contents:
        parts[c.interaction_id].add(c.part)
        if c.interaction_id not in snap.interactions:
            out.append(f"interaction {c.interaction_id}: content part {c.part} without its interaction")
        if c.size != len(c.data):
            out.append(f"interaction {c.interaction_id}: content part {c.part} holds {len(c.data)} bytes, "
                       f"its size says {c.size}")
    for iid, row in snap.interactions.items():
        flagged = {p for p, has in (("plain_text", row.has_text), ("structured_text", row.has_structured_text),
                                    ("binary_content", row.has_binary_content)) if has}
        if flagged != parts.get(iid, set()):
            out.append(f"interaction {iid}: flags name parts {sorted(flagged)}, stored {sorted(parts.get(iid, ()))}")
    return out


def _phones(snap: Snapshot, records: dict[str, Records], cid: str) -> dict[str, Any]:
    schema = snap.schemas.extension("profile", LEDGER_EXTENSION)
    recs = records.get(cid, {}).get(LEDGER_EXTENSION.lower(), [])
    return {r.get("PhoneNumber"): r.get("description") for r in recs} if schema else {}


def check_ledger(snap: Snapshot, ledger: Ledger) -> list[str]:
    """Every acknowledged write is there; every acknowledged delete or merge-away is gone, with its services."""
    out: list[str] = []
    records = profile_records(snap)
    for cid, want in ledger.customers.items():
        if cid in ledger.unsure:
            continue
        data = snap.profiles.get(cid)
        if data is None:
            out.append(f"customer {cid}: acknowledged, but there is no profile")
            continue
        if want.attrs is not None:
            for name in LEDGER_ATTRIBUTES:
                if data.get(name, []) != want.attrs.get(name, []):
                    out.append(f"customer {cid}: {name} is {data.get(name, [])}, acknowledged "
                               f"{want.attrs.get(name, [])}")
        if want.phones is not None and (got := _phones(snap, records, cid)) != want.phones:
            out.append(f"customer {cid}: Phone records {got}, acknowledged {want.phones}")
    by_customer: dict[str, list[int]] = defaultdict(list)
    for sid, row in snap.services.items():
        if row.customer_id is not None:
            by_customer[row.customer_id].append(sid)
    by_interaction_customer: dict[str, list[str]] = defaultdict(list)
    for iid, row in snap.interactions.items():
        by_interaction_customer[row.customer_id].append(iid)
    for cid in sorted(ledger.gone - ledger.unsure):
        if cid in snap.profiles:
            out.append(f"customer {cid}: deleted or merged away (acknowledged), but the profile is there")
        if by_customer.get(cid):
            out.append(f"customer {cid}: deleted or merged away (acknowledged), but has services "
                       f"{sorted(by_customer[cid])}")
        if any(r.owner == cid for r in snap.records if r.level == "profile"):
            out.append(f"customer {cid}: deleted or merged away (acknowledged), but has extension records")
        if by_interaction_customer.get(cid):
            out.append(f"customer {cid}: deleted or merged away (acknowledged), but has interactions "
                       f"{sorted(by_interaction_customer[cid])}")
    for cid in sorted(ledger.refused):
        if cid in snap.profiles:
            out.append(f"customer {cid}: its create was refused, but the profile is there")
        if any(r.owner == cid for r in snap.records if r.level == "profile"):
            out.append(f"customer {cid}: its create was refused, but it has extension records")
    for iid, cid in sorted(ledger.interactions.items()):
        row = snap.interactions.get(iid)
        if cid in ledger.unsure:
            continue
        if row is None:
            out.append(f"interaction {iid}: acknowledged, but it is not there")
        elif row.customer_id != cid:
            out.append(f"interaction {iid}: customer {row.customer_id}, acknowledged {cid}")
    for sid, journey in ledger.services.items():
        out += _check_journey(snap, ledger, sid, journey)
    return out


def _check_journey(snap: Snapshot, ledger: Ledger, sid: int, journey: Journey) -> list[str]:
    cid = journey.customer_id
    if cid is not None and (cid in ledger.unsure or cid in ledger.gone):
        return []  # its customer's delete (checked above) or an unanswered merge decides
    row = snap.services.get(sid)
    if row is None:
        return [f"service {sid}: start acknowledged, but it is not there"]
    out = []
    if row.customer_id != cid:
        out.append(f"service {sid}: customer {row.customer_id}, acknowledged {cid}")
    if journey.completed and row.completed_at is None:
        out.append(f"service {sid}: completion acknowledged, but it is active")
    for level, items, table in (("state", journey.states, snap.states), ("task", journey.tasks, snap.tasks)):
        for item_id, completed in items.items():
            got = table.get(item_id)
            if got is None or got.service_id != sid:
                out.append(f"{level} {item_id} of service {sid}: start acknowledged, but it is not there")
            elif completed and got.completed_at is None:
                out.append(f"{level} {item_id} of service {sid}: completion acknowledged, but it is active")
    return out


async def check(url: str, ledger: Ledger | None = None, *, tenant: int = 1, settings: Settings | None = None,
                cipher: FieldCipher | None = None) -> list[str]:
    """Every violation found in the database at `url` (and against the ledger, when given)."""
    settings = settings or load_settings({"database_url": url}, environ={})
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            snap = await snapshot(conn, tenant, settings)
    finally:
        await engine.dispose()
    out = check_index(snap, cipher) + check_extensions(snap) + check_journeys(snap) + check_interactions(snap)
    if ledger is not None:
        out += check_ledger(snap, ledger)
    return out


def main(argv: list[str] | None = None) -> int:
    """Check a database and print the violations; exit status 1 when there is any."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="sqlite:///... or postgresql://...")
    parser.add_argument("--tenant", type=int, default=1)
    args = parser.parse_args(argv)
    violations = asyncio.run(check(args.database, tenant=args.tenant))
    for line in violations:
        print(line)
    print(f"{len(violations)} invariant violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
