"""The bulk paths of the import: batches shipped in one statement per table (COPY on PostgreSQL, the
driver's executemany on SQLite) keep every rule of single writes, and records are parsed by the header's
plan with the errors of Create Customer Profile."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from tests.conftest import wipe
from tests.helpers import set_mode
from tests.import_fixtures import ADDRESS, CITY_KEY, EMAIL_KEY, PHONE_KEY, identify, imported, prepare, write_csv
from tests.profile_fixtures import count_statements, create
from ucs_graphql.config import load_settings
from ucs_graphql.context import Ctx
from ucs_graphql.db.fast import FastInsert, FastInserts
from ucs_graphql.db.tables.profiles import profile
from ucs_graphql.imports import service
from ucs_graphql.imports.columns import RecordParser, plan_columns
from ucs_graphql.kit.errors import AlreadyExists, UcsError
from ucs_graphql.metadata.cache import build_tenant
from ucs_graphql.profiles import store as profile_store
from ucs_graphql.profiles.model import parse_profile

ROWS = 40  # more than FastInsert.SMALL in every table, so the batch is shipped in bulk



async def test_a_clash_inside_a_bulk_batch_refuses_only_the_offending_rows(import_app):
    client, folder = import_app
    await prepare(client, {**EMAIL_KEY, "unique": True}, PHONE_KEY)
    await set_mode(client, "production")
    await create(client, {"customer_id": "known", "FirstName": "Known", "EmailAddress": "known@x.org"})
    await set_mode(client, "maintenance")
    lines = ["customer_id,FirstName,EmailAddress,PhoneNumber,Address.City"]
    lines += [f",n{i},n{i}@x.org,+1 555 {i:04d},City{i}" for i in range(ROWS)]
    lines[1 + 5] = "known,Again,again@x.org,+1 555 9005,Elsewhere"  # an existing customer id
    lines[1 + 9] = "twice,First,first@x.org,+1 555 9009,One"
    lines[1 + 17] = "twice,Second,second@x.org,+1 555 9017,Two"  # the same id earlier in the batch
    lines[1 + 23] = ",Dup,known@x.org,+1 555 9023,Three"  # a unique key clash with a stored customer
    lines[1 + 31] = ",Dup2,n2@x.org,+1 555 9031,Four"  # ... and with a row earlier in the batch
    write_csv(folder, "clash.csv", "\n".join(lines) + "\n")
    report = await imported(client, {"format": "csv", "profiles": "clash.csv", "batch-size": 64})
    assert [e["index"] for e in report["errors"]] == [5, 17, 23, 31]
    assert "known" in report["errors"][0]["reason"] and "twice" in report["errors"][1]["reason"]
    assert "by_email" in report["errors"][2]["reason"] and "by_email" in report["errors"][3]["reason"]
    assert (report["imported"], report["next-index"], report["complete"]) == (ROWS - 4, ROWS, True)
    await set_mode(client, "production")
    # The refused rows left no profile, record or index entry; the others have all three.
    for phone in ("+1 555 9005", "+1 555 9017", "+1 555 9023", "+1 555 9031"):
        assert await identify(client, PhoneNumber=phone) == []
    [twice] = await identify(client, PhoneNumber="+1 555 9009")
    assert (twice["customer_id"], twice["Address"]["City"]) == ("twice", "One")
    for i in (0, 2, 8, 39):
        [found] = await identify(client, PhoneNumber=f"+1 555 {i:04d}")
        assert (found["FirstName"], found["Address"]["City"]) == (f"n{i}", f"City{i}")
    assert (await client.get("/profiles/known")).json()["FirstName"] == "Known"


async def test_a_batch_is_shipped_in_one_statement(import_app, backend):
    """One statement a batch on PostgreSQL (every table in WITH clauses), one per table elsewhere."""
    client, folder = import_app
    await prepare(client, EMAIL_KEY, PHONE_KEY)
    lines = ["FirstName,EmailAddress,PhoneNumber,Address.City"]
    lines += [f"n{i},n{i}@x.org,+1 555 {i:04d},City{i}" for i in range(ROWS)]
    write_csv(folder, "one.csv", "\n".join(lines) + "\n")
    seen = count_statements(client)
    report = await imported(client, {"format": "csv", "profiles": "one.csv", "batch-size": 64})
    assert report["imported"] == ROWS
    # (The server's background work registers itself in server_worker now and then.)
    tables = ("profile", "extension_record", "ident_entry")  # Address is single-valued: no unique rows
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "WITH")) and "server_" not in s]
    batches = -(-ROWS // 64)
    if backend == "postgres":
        assert len(writes) == batches
        assert all(sorted(re.findall(r'INSERT INTO "?(\w+)', s)) == sorted(tables) for s in writes)
    else:
        assert sorted(s.split("(")[0].strip() for s in writes) == sorted([f"INSERT INTO {t}" for t in tables] * batches)


TRICKY = ['quote " and \\ backslash', "tab\tand\nline", "Zoë Åström", "\u65e5\u672c\u8a9e \U0001f600", "{\"json\": [1]}",
          "'; DROP TABLE profile; --", "x" * 250]


async def test_a_bulk_batch_stores_every_character_as_given(import_app):
    """Quotes, backslashes, control characters, non-ASCII and long texts come back exactly from a batch
    written in one statement, in profiles, extension records and index entries."""
    client, folder = import_app
    await prepare(client, EMAIL_KEY, CITY_KEY)
    lines = ["customer_id,FirstName,EmailAddress,Address.City"]
    for i in range(ROWS):
        text = TRICKY[i % len(TRICKY)]
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"tricky-{i},{quoted},n{i}@x.org,{quoted}")
    write_csv(folder, "tricky.csv", "\n".join(lines) + "\n")
    report = await imported(client, {"format": "csv", "profiles": "tricky.csv", "batch-size": 64})
    assert (report["imported"], report["errors"]) == (ROWS, [])
    await set_mode(client, "production")
    for i in range(len(TRICKY)):
        body = (await client.get(f"/profiles/tricky-{i}", params={"extensions": "Address"})).json()
        assert (body["FirstName"], body["Address"]["City"]) == (TRICKY[i], TRICKY[i])
        found = await identify(client, **{"Address.City": TRICKY[i]})
        assert f"tricky-{i}" in {m["customer_id"] for m in found}


async def test_a_bulk_insert_refuses_a_text_too_long_for_its_column_rather_than_cutting_it(client, backend):
    ctx = Ctx(client._transport.app.state.runtime)
    rows = profile_store.profile_rows(ctx.tenant, [(f"long-{i}", {"FirstName": ["x"]}) for i in range(ROWS)])
    rows[3] = (ctx.tenant, "x" * 17, 0, "{}")  # customer_id is VARCHAR(16)
    if backend == "postgres":  # SQLite does not limit the length of text
        with pytest.raises(Exception, match="too long"):
            await ctx.db.write(lambda conn: FastInserts(profile).run(conn, {"profile": rows}, last=True))
        assert (await client.get("/profiles/long-0")).status_code == 404
    else:
        await ctx.db.write(lambda conn: FastInserts(profile).run(conn, {"profile": rows}, last=True))
        assert (await client.get("/profiles/long-0")).status_code == 200


async def test_a_bulk_insert_is_part_of_the_callers_transaction(client):
    ctx = Ctx(client._transport.app.state.runtime)
    rows = [(f"bulk-{i}", {"FirstName": [f"b{i}"]}) for i in range(ROWS)]

    async def first_then_fail(conn: Any) -> None:
        # The bulk insert is the transaction's first statement: it must not commit on its own.
        await profile_store.insert_profiles(conn, ctx.tenant, rows)
        raise RuntimeError("the rest of the work failed")

    with pytest.raises(RuntimeError):
        await ctx.db.write(first_then_fail)
    clash = [*rows[:30], ("bulk-3", {"FirstName": ["again"]}), *rows[30:]]
    with pytest.raises(AlreadyExists, match="customer already exists"):
        await ctx.db.write(lambda conn: profile_store.insert_profiles(conn, ctx.tenant, clash))
    await ctx.db.write(lambda conn: profile_store.insert_profiles(conn, ctx.tenant, rows))
    assert (await client.get("/profiles/bulk-39")).json()["FirstName"] == "b39"
    assert len(rows) >= FastInsert.SMALL


async def test_a_last_bulk_insert_commits_by_itself_or_with_what_ran_before_it(client):
    """FastInserts(last=True): alone in its transaction the statement is the transaction; after another
    statement it joins that statement's transaction, and both are undone together."""
    ctx = Ctx(client._transport.app.state.runtime)
    both = FastInserts(profile)

    def rows(prefix: str) -> list[tuple[Any, ...]]:
        return profile_store.profile_rows(ctx.tenant, [(f"{prefix}-{i}", {"FirstName": [prefix]}) for i in range(ROWS)])

    async def before_then_fail(conn: Any) -> None:
        await profile_store.insert_profiles(conn, ctx.tenant, [("before", {"FirstName": ["b"]})])
        await both.run(conn, {"profile": rows("joined")}, last=True)
        raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        await ctx.db.write(before_then_fail)
    for gone in ("before", "joined-0", f"joined-{ROWS - 1}"):
        assert (await client.get(f"/profiles/{gone}")).status_code == 404
    clash = rows("alone")
    clash.insert(ROWS // 2, clash[0])
    with pytest.raises(AlreadyExists):
        await ctx.db.write(lambda conn: both.run(conn, {"profile": clash}, last=True))
    assert (await client.get("/profiles/alone-0")).status_code == 404  # all or nothing
    await ctx.db.write(lambda conn: both.run(conn, {"profile": rows("alone")}, last=True))
    assert (await client.get(f"/profiles/alone-{ROWS - 1}")).json()["FirstName"] == "alone"


# A schema with every kind of rule a record can break: types, lengths, defaults, mandatory values.
SCHEMA_DOCS: dict[str, list[Any]] = {
    "profile_attributes": [
        {"name": "Nickname", "type": "string", "length": 6},
        {"name": "Segment", "type": "string", "default": "retail"},
        {"name": "Region", "type": "string", "mandatory": True},
        {"name": "Birth", "type": "datetime"},
    ],
    "extensions": [
        ("profile", ADDRESS),
        ("profile", {"name": "Prefs", "type": "single-valued", "attributes": [
            {"name": "Optin", "type": "boolean"}, {"name": "Score", "type": "double"},
            {"name": "Level", "type": "integer", "default": 1}, {"name": "Code", "type": "string", "mandatory": True}]}),
    ],
    "keys": [],
}
HEADER = ["customer_id", "FirstName", "EmailAddress[2]", "EmailAddress[1]", "Nickname", "Segment", "Region",
          "Birth", "Address.AddressType", "Address.PostCode", "Prefs.Optin", "Address.City", "Prefs.Score",
          "Prefs.Level", "Prefs.Code"]
# Values each column takes (empty cells included), and values that break a rule.
CELLS = {
    "customer_id": (["", "", "c-1"], ["bad id", "x" * 17]),
    "FirstName": (["", "Ann", " spaced ", "Ünïcode"], ["select"]),
    "EmailAddress[2]": (["", "b@x.org"], ["Insert"]), "EmailAddress[1]": (["", "a@x.org"], ["null"]),
    "Nickname": (["", "short"], ["far too long"]), "Segment": (["", "vip"], ["order"]),
    "Region": (["north", "south"], ["", "From"]),
    "Birth": (["", "2020-01-02T03:04:05.678Z"], ["yesterday"]),
    "Address.AddressType": (["", "7", " 0"], ["x", "99999999999"]),
    "Address.PostCode": (["", "4703"], ["12345678901"]),
    "Prefs.Optin": (["", "true", "FALSE"], ["maybe"]), "Address.City": (["", "Pomona"], ["table"]),
    "Prefs.Score": (["", "1.5", "2"], ["nan?"]), "Prefs.Level": (["", "3"], ["three"]),
    "Prefs.Code": (["A", "B"], ["", "where"]),
}


def _cell(rng: random.Random, name: str) -> str:
    good, bad = CELLS[name]
    return rng.choice(bad if rng.random() < 0.03 else good)


def _outcome(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The profile input a parse gives, or the (kind, description) of the error it raises."""
    try:
        return call(*args, **kwargs)
    except UcsError as err:
        return type(err).__name__, err.description


def test_records_parsed_by_the_plan_are_those_create_customer_profile_accepts():
    schemas = build_tenant(load_settings({}, environ={}), SCHEMA_DOCS)
    plan = plan_columns(schemas, HEADER)
    rng = random.Random(5)
    accepted = 0
    for check in (True, False):
        parser = RecordParser(schemas, plan, check_values=check)
        assert parser.direct
        for _ in range(3000):
            fields = [_cell(rng, name) for name in HEADER]
            expected = _outcome(parse_profile, schemas, plan.body(fields), check_values=check)
            direct = _outcome(parser._direct, fields)
            if isinstance(expected, tuple):
                # A refused record: the plan refuses it too, and the error reported is parse_profile's.
                assert isinstance(direct, tuple), fields
                assert _outcome(parser.parse, fields) == expected
            else:
                assert direct == expected, fields
                accepted += 1
    assert 1000 < accepted < 5000


async def test_refusals_found_when_a_batch_commits_stop_the_next_batch_where_max_errors_says(import_app):
    client, folder = import_app
    await prepare(client, {**EMAIL_KEY, "unique": True}, address=False)
    # Batch 0 (records 0-3): record 1 clashes with record 0 on the unique key, which only its commit finds.
    # Batch 1 (records 4-7): record 5 is the second refusal, past max-errors 1: the import stops there,
    # although batch 1 was read while batch 0 was being written.
    rows = ["a,a@x.org", "b,a@x.org", "c,c@x.org", "d,d@x.org", "e,e@x.org", "f,x,extra", "g,g@x.org", "h,h@x.org",
            "i,i@x.org"]
    write_csv(folder, "cut.csv", "\n".join(["FirstName,EmailAddress", *rows]) + "\n")
    report = await imported(client, {"format": "csv", "profiles": "cut.csv", "batch-size": 4, "max-errors": 1})
    assert [e["index"] for e in report["errors"]] == [1, 5]
    assert (report["imported"], report["next-index"], report["complete"]) == (4, 6, False)
    await set_mode(client, "production")
    assert len(await identify(client, "", EmailAddress="e@x.org")) == 1
    assert await identify(client, "", EmailAddress="g@x.org") == []
    await set_mode(client, "maintenance")
    resumed = await imported(client, {"format": "csv", "profiles": "cut.csv", "start-from-index": 6})
    assert (resumed["imported"], resumed["next-index"], resumed["complete"]) == (3, 9, True)


def _random_file(seed: int, count: int, emails: int, phones: bool, parse_errors: float) -> list[str]:
    """CSV lines (header first) of `count` customers c0, c1...: e-mails drawn from `emails` values (repeats
    clash under a unique key), phone numbers from 100 (with `phones`), and some rows too wide to parse."""
    rng = random.Random(seed)
    lines = ["customer_id,FirstName,EmailAddress" + (",PhoneNumber" if phones else "")]
    for i in range(count):
        fields = [f"c{i}", f"n{i}", f"e{rng.randrange(emails)}@x.org"]
        if phones:
            fields.append(f"+1 555 {rng.randrange(100):04d}")
        if rng.random() < parse_errors:
            fields.append("extra")  # a parse error
        lines.append(",".join(fields))
    return lines


async def _import_fresh(make_client: Any, folder: Any, database_url: str, lines: list[str],
                        description: dict[str, Any], *keys: dict[str, Any]) -> tuple[Any, list[int]]:
    """Import `lines` on an emptied database with these keys: the report, and GET /profiles/cN's statuses."""
    write_csv(folder / "1", "r.csv", "\n".join(lines) + "\n")  # tenant 1's import directory
    client = await make_client(import_dir=str(folder))
    await prepare(client, *keys, address=False)
    report = await imported(client, {"format": "csv", "profiles": "r.csv",
                                     **{k: v for k, v in description.items() if v is not None}})
    await set_mode(client, "production")
    stored = [(await client.get(f"/profiles/c{i}")).status_code for i in range(len(lines) - 1)]
    await wipe(database_url)
    return report, stored


@pytest.mark.parametrize(("seed", "batch", "max_errors"), [(1, 7, None), (2, 3, 5), (3, 16, 12)])
async def test_reading_ahead_gives_the_reports_and_data_of_one_batch_after_the_other(
        make_client, tmp_path, database_url, monkeypatch, seed, batch, max_errors):
    lines = _random_file(seed, 120, 90, phones=True, parse_errors=0.05)
    description = {"id-key": "by_phone", "batch-size": batch, "max-errors": max_errors}
    results = []
    for pipelined, ahead in ((False, 1), (True, 1), (True, 2), (True, 4)):
        monkeypatch.setattr(service, "PIPELINE", pipelined)
        monkeypatch.setattr(service, "AHEAD", ahead)
        results.append(await _import_fresh(make_client, tmp_path / f"import-{pipelined}-{ahead}", database_url,
                                           lines, description, {**EMAIL_KEY, "unique": True},
                                           {**PHONE_KEY, "unique": False}))
    assert all(result == results[0] for result in results[1:])
    assert results[0][0]["errors"] and results[0][0]["skipped"]


@pytest.mark.parametrize(("seed", "batch", "max_errors"), [(4, 64, 3), (5, 10, 2), (6, 64, None)])
async def test_a_batch_reports_and_stops_as_records_imported_one_at_a_time_would(
        make_client, tmp_path, database_url, seed, batch, max_errors):
    """Clashes found only when a batch is written row by row, and parse errors found when it is read, are
    counted in record order: the report and the stored data are those of batch-size 1."""
    lines = _random_file(seed, 150, 140, phones=False, parse_errors=0.03)  # some e-mails repeat: clashes
    results = [await _import_fresh(make_client, tmp_path / f"import-{size}", database_url, lines,
                                   {"batch-size": size, "max-errors": max_errors}, {**EMAIL_KEY, "unique": True})
               for size in (1, batch)]
    assert results[0] == results[1]
    report = results[0][0]
    assert any("extra" not in lines[1 + e["index"]] for e in report["errors"])  # clashes ...
    assert any("extra" in lines[1 + e["index"]] for e in report["errors"])  # ... and parse errors
