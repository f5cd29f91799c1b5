"""Bulk Profile Import (CV.WS.PROF.IMPORT.1) over REST: files in the import directory or uploaded, columns,
refused rows, id-key, batches, limits, logs, encodings, modes and paths."""

from __future__ import annotations

import base64
import json
import os

import pytest
from sqlalchemy import text

from bench.import_bench import HEADER
from bench.import_bench import rows as bench_rows
from tests.helpers import assert_error, set_mode
from tests.import_fixtures import (
    CITY_KEY,
    EMAIL_KEY,
    PHONE_KEY,
    SAMPLE,
    by_first_name,
    identify,
    imported,
    post_import,
    prepare,
    write_csv,
)
from tests.profile_fixtures import create
from ucs_graphql.access import tasks as t
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.db.engine import throwaway_engine


async def test_the_reference_sample_shape_imports_profiles_extensions_and_index_entries(import_app):
    client, folder = import_app
    await prepare(client, PHONE_KEY, CITY_KEY)
    write_csv(folder, "profiles.csv", SAMPLE)
    report = await imported(client, {"delimiter": ",", "profiles": "profiles.csv", "format": "csv",
                                     "max-errors": 20})
    assert report == {"errors": [], "ambiguous": [], "imported": 3, "skipped": 0, "next-index": 3,
                      "complete": True}
    await set_mode(client, "production")
    # PhoneNumber[1] is the primary value although its column comes second; the index is normalised.
    [found] = await identify(client, PhoneNumber="12044892084")
    assert found["PhoneNumber"] == ["1-204-489-2084", "1-355-530-4087"]
    assert (found["FirstName"], found["LastName"], found["EmailAddress"]) == ("kertuleordi", "gusch",
                                                                              "kertuleordi@gusch.net")
    assert found["Address"] == {"AddressType": 7, "PostCode": "4703", "Address": "25,\net malesuada vulputate Proin",
                                "County": "Pomona", "City": "Germany", "Country": "Fullerton"}
    [by_second] = await identify(client, PhoneNumber="1-355-530-4087")
    assert by_second["customer_id"] == found["customer_id"]
    [by_city] = await identify(client, **{"Address.City": "East Timor"})
    assert by_city["FirstName"] == "danye"


async def test_attr_n_columns_number_values_whatever_their_order_and_empty_cells_are_no_value(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    text = ("EmailAddress[3],FirstName,EmailAddress[1],EmailAddress[2]\n"
            "c@x.org,Ann,a@x.org,b@x.org\n"
            ",Bob,,b@y.org\n")
    write_csv(folder, "multi.csv", text)
    assert (await imported(client, {"format": "csv", "profiles": "multi.csv"}))["imported"] == 2
    await set_mode(client, "production")
    ann = await by_first_name(client, "Ann")
    assert ann["EmailAddress"] == ["a@x.org", "b@x.org", "c@x.org"]
    bob = await by_first_name(client, "Bob")
    assert bob["EmailAddress"] == "b@y.org"
    assert "LastName" not in bob


async def test_rows_that_fail_validation_are_reported_with_their_index_and_reason(import_app):
    client, folder = import_app
    await prepare(client)
    lines = SAMPLE.splitlines()
    text = "\n".join([*lines[:4],
                      "julaudricelsa,mosessaglowsket,1-363-017-4320,",
                      "clemara,gonebali,1-334-657-4832,1-226-703-2238,c@g.net,no-integer,6552,x,Chula Vista,J,W",
                      "lonni,mi,1-021-445-4631,1-716-116-8811,lonni@mi.net,7,102,Duis,Allentown,Russia,NC",
                      "Nick,select,1,2,n@x,1,1,x,y,z,w"]) + "\n"
    write_csv(folder, "errors.csv", text)
    report = await imported(client, {"format": "CSV", "profiles": "errors.csv"})
    assert [e["index"] for e in report["errors"]] == [2, 3, 5]
    assert "number of profile attributes cannot be different than declared" in report["errors"][0]["reason"]
    assert "Address.AddressType" in report["errors"][1]["reason"]
    assert "keyword is not authorized" in report["errors"][2]["reason"]
    assert (report["imported"], report["next-index"], report["complete"]) == (3, 6, True)


async def test_max_errors_stops_the_import_after_that_many_refused_rows(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    rows = ["FirstName,LastName"] + [f"n{i},{'x,extra' if i in (1, 3, 4) else 'ok'}" for i in range(8)]
    write_csv(folder, "max.csv", "\n".join(rows) + "\n")
    report = await imported(client, {"format": "csv", "profiles": "max.csv", "max-errors": 1, "batch-size": 2})
    assert [e["index"] for e in report["errors"]] == [1, 3]
    # Records 0 and 2 are stored; the import stops at the second error and says where to resume.
    assert (report["imported"], report["next-index"], report["complete"]) == (2, 4, False)
    resumed = await imported(client, {"format": "csv", "profiles": "max.csv", "start-from-index": 5})
    assert (resumed["imported"], resumed["errors"], resumed["next-index"]) == (3, [], 8)


async def test_start_from_index_skips_earlier_records(import_app):
    client, folder = import_app
    await prepare(client, EMAIL_KEY)
    write_csv(folder, "p.csv", SAMPLE)
    report = await imported(client, {"format": "csv", "profiles": "p.csv", "start-from-index": 1})
    assert (report["imported"], report["next-index"]) == (2, 3)
    await set_mode(client, "production")
    resp = await client.get("/profiles", params={"EmailAddress": "kertuleordi@gusch.net"})
    assert resp.json() == []
    assert len(await identify(client, EmailAddress="almady@vanah.net")) == 1
    assert len(await identify(client, EmailAddress="danye@hna.net")) == 1


async def test_id_key_skips_a_known_customer_and_reports_an_ambiguous_match(import_app):
    client, folder = import_app
    await prepare(client, EMAIL_KEY, address=False)
    await set_mode(client, "production")
    first = await create(client, {"FirstName": "A1", "EmailAddress": "a@x.org"})
    second = await create(client, {"FirstName": "A2", "EmailAddress": "a@x.org"})
    await create(client, {"FirstName": "B", "EmailAddress": "b@x.org"})
    await set_mode(client, "maintenance")
    text = "FirstName,EmailAddress\nB again,b@x.org\nA?,a@x.org\nC,c@x.org\nC twice,c@x.org\nD,\n"
    write_csv(folder, "ids.csv", text)
    report = await imported(client, {"format": "csv", "profiles": "ids.csv", "id-key": "by_email"})
    assert report["errors"] == []
    assert report["ambiguous"] == [{"index": 1, "reason": "Some customer(s) are already matching this profile : "
                                                          f"{', '.join(sorted([first, second]))}"}]
    # C is new; its second row matches the first one of the same batch; D has no e-mail to compare.
    assert (report["imported"], report["skipped"]) == (2, 2)
    await set_mode(client, "production")
    assert len(await identify(client, "", EmailAddress="c@x.org")) == 1
    assert len(await identify(client, "", EmailAddress="b@x.org")) == 1


async def test_a_unique_key_clash_refuses_the_row_and_keeps_the_rest_of_its_batch(import_app):
    client, folder = import_app
    await prepare(client, {**EMAIL_KEY, "unique": True}, address=False)
    text = ("customer_id,FirstName,EmailAddress\n"
            "cust-1,One,one@x.org\n,Two,two@x.org\n,Dup,one@x.org\ncust-1,Again,z@x.org\n,Three,three@x.org\n")
    write_csv(folder, "u.csv", text)
    report = await imported(client, {"format": "csv", "profiles": "u.csv"})
    assert [e["index"] for e in report["errors"]] == [2, 3]
    assert "by_email" in report["errors"][0]["reason"]
    assert "cust-1" in report["errors"][1]["reason"]
    assert report["imported"] == 3
    await set_mode(client, "production")
    assert (await client.get("/profiles/cust-1")).json()["FirstName"] == "One"


async def test_create_log_writes_json_lines_beside_the_file(import_app):
    client, folder = import_app
    await prepare(client)
    write_csv(folder, "sub/logged.csv", SAMPLE + "bad,row\n")
    report = await imported(client, {"format": "csv", "profiles": "sub/logged.csv", "create-log": True,
                                     "batch-size": 2})
    assert report["log"] == os.path.join("sub", "logged.csv.log")
    lines = [json.loads(line) for line in (folder / "sub" / "logged.csv.log").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["started", "committed", "error", "committed", "finished"]
    assert [line["next-index"] for line in lines if line["event"] == "committed"] == [2, 4]
    assert lines[2]["index"] == 3 and lines[-1]["complete"] is True


@pytest.mark.parametrize("encoding, data", [("ISO-8859-1", "latin-1"), ("UTF-16", "utf-16"), (None, "utf-8-sig")])
async def test_encoding(import_app, encoding, data):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "enc.csv", "FirstName,LastName\nJosé,Müller\n", encoding=data)
    description = {"format": "csv", "profiles": "enc.csv", **({"encoding": encoding} if encoding else {})}
    assert (await imported(client, description))["imported"] == 1
    await set_mode(client, "production")
    found = await by_first_name(client, "José")
    assert found["LastName"] == "Müller"


async def test_a_record_that_cannot_be_decoded_stops_the_import_there(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "bad.csv", "FirstName\nAnn\nJosé\nBob\n", encoding="latin-1")
    report = await imported(client, {"format": "csv", "profiles": "bad.csv", "batch-size": 1})
    assert report["imported"] == 1 and report["complete"] is False
    assert report["errors"][0]["index"] == 1 and "utf-8" in report["errors"][0]["reason"]


async def test_delimiter(import_app):
    client, folder = import_app
    await prepare(client)
    write_csv(folder, "semi.csv", "FirstName;Address.City;Address.Address\nAnn;Paris;1, rue de la Paix\n")
    report = await imported(client, {"format": "csv", "profiles": "semi.csv", "delimiter": ";"})
    assert report["imported"] == 1
    assert_error(await post_import(client, {"format": "csv", "profiles": "semi.csv", "delimiter": ";;"}), 400, 4020,
                 "delimiter")


@pytest.mark.parametrize("description, status, fragment", [
    ({"format": "json", "profiles": "p.csv"}, 400, "not supported"),
    ({"profiles": "p.csv"}, 400, "format"),
    ({"format": "xml", "profiles": "p.csv"}, 400, "format"),
    ({"format": "csv"}, 400, "profiles"),
    ({"format": "csv", "profiles": "p.csv", "batch-size": 0}, 400, "batch-size"),
    ({"format": "csv", "profiles": "p.csv", "encoding": "klingon"}, 400, "encoding"),
    ({"format": "csv", "profiles": "p.csv", "id-key": "nope"}, 400, "nope"),
    ({"format": "csv", "profiles": "p.csv", "colour": "red"}, 400, "colour"),
    ({"format": "csv", "profiles": "missing.csv"}, 400, "missing.csv"),
    ({"format": "csv", "profiles": "cols.csv"}, 400, "Shoe"),
])
async def test_refused_descriptions(import_app, description, status, fragment):
    client, folder = import_app
    await prepare(client)
    write_csv(folder, "p.csv", SAMPLE)
    write_csv(folder, "cols.csv", "FirstName,Shoe\nAnn,9\n")
    assert_error(await post_import(client, description), status, contains=fragment)


async def test_production_mode_refuses_the_import(import_app):
    client, folder = import_app
    write_csv(folder, "p.csv", "FirstName\nAnn\n")
    assert_error(await post_import(client, {"format": "csv", "profiles": "p.csv"}), 403, contains="maintenance")


async def test_paths_that_leave_the_import_directory_are_refused(import_app, tmp_path):
    client, folder = import_app
    await prepare(client, address=False)
    outside = write_csv(tmp_path, "outside.csv", "FirstName\nEve\n")
    (folder / "link.csv").symlink_to(outside)
    (folder / "dirlink").symlink_to(tmp_path)
    for given in ("../outside.csv", str(outside), "link.csv", "dirlink/outside.csv", "sub/../../outside.csv"):
        assert_error(await post_import(client, {"format": "csv", "profiles": given}), 403, contains="import directory")
    inside = write_csv(folder, "inside.csv", "FirstName\nAnn\n")
    assert (await imported(client, {"format": "csv", "profiles": str(inside)}))["imported"] == 1


async def test_the_file_can_be_uploaded_as_a_profiles_part(import_app):
    client, folder = import_app
    await prepare(client, PHONE_KEY)
    report = await imported(client, {"format": "csv", "create-log": True}, upload=SAMPLE.encode(),
                            filename="odd name.csv")
    assert (report["imported"], report["log"]) == (3, "odd name.csv.log")
    assert (folder / "odd name.csv.log").is_file()
    assert_error(await post_import(client, {"format": "csv", "profiles": "x.csv"}, upload=b"FirstName\n"), 400,
                 contains="not both")
    await set_mode(client, "production")
    assert len(await identify(client, PhoneNumber="1-632-596-1889")) == 1


async def test_the_description_must_come_as_a_form_part(import_app):
    client, _ = import_app
    await set_mode(client, "maintenance")
    resp = await client.post("/profiles/import", json={"format": "csv", "profiles": "p.csv"})
    assert_error(resp, 415, contains="multipart/form-data")
    resp = await client.post("/profiles/import", files={"other": (None, "x")})
    assert_error(resp, 400, contains="description")
    resp = await client.post("/profiles/import", files={"description": (None, "{ profiles:'D:/x.csv' }")})
    assert_error(resp, 400, contains="JSON")


async def test_import_metrics_count_rows_and_refusals(import_app):
    client, folder = import_app
    await prepare(client)
    write_csv(folder, "m.csv", SAMPLE + "bad\n")
    await imported(client, {"format": "csv", "profiles": "m.csv"})
    text = (await client.get("/metrics")).text
    assert "ucs_import_rows_total 3.0" in text
    assert "ucs_import_errors_total 1.0" in text


async def test_the_import_also_needs_the_create_tasks_the_reference_lists(make_client, tmp_path):
    folder = tmp_path / "import" / "1"
    secret = hash_secret("pw", ln=4)
    base = [t.EXECUTE_BULK_IMPORT, t.CHANGE_SERVER_MODE, t.HANDLE_METADATA]
    roles = {"bulk": base, "bulk_create": [*base, t.CREATE_PROFILE], "all": sorted(t.ALL_TASKS)}
    config = "".join(f'[[roles]]\nname = "{n}"\ndbid = {i}\ntasks = {json.dumps(v)}\n\n'
                     for i, (n, v) in enumerate(roles.items(), start=100))
    config += "".join(f'[[users]]\nname = "{n}"\npassword_hash = "{secret}"\nroles = ["{n}"]\n\n' for n in roles)
    client = await make_client(import_dir=str(folder.parent), config_text=config)
    auth = {n: {"Authorization": "Basic " + base64.b64encode(f"{n}:pw".encode()).decode()}
            for n in roles}
    client.headers.update(auth["all"])
    await prepare(client)
    write_csv(folder, "plain.csv", "FirstName\nAnn\n")
    write_csv(folder, "ext.csv", "FirstName,Address.City\nBob,Paris\n")
    assert_error(await post_import(client, {"format": "csv", "profiles": "plain.csv"}, headers=auth["bulk"]), 403,
                 contains=t.CREATE_PROFILE)
    assert (await imported(client, {"format": "csv", "profiles": "plain.csv"}, headers=auth["bulk_create"]))[
        "imported"] == 1
    assert_error(await post_import(client, {"format": "csv", "profiles": "ext.csv"}, headers=auth["bulk_create"]),
                 403, contains=t.CREATE_PROFILE_EXTENSION)


async def test_a_client_that_accepts_json_lines_gets_the_progress_then_the_report(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "many.csv", "FirstName\n" + "".join(f"Ann{i}\n" for i in range(50)) + "bad,row\n")
    stream = {"Accept": "application/x-ndjson"}
    resp = await post_import(client, {"format": "csv", "profiles": "many.csv", "batch-size": 10}, headers=stream)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    progress = [line["progress"] for line in lines[:-1]]
    assert progress and all(0 < p["next-index"] <= 51 and p["total-bytes"] == (folder / "many.csv").stat().st_size
                            for p in progress)
    assert lines[-1]["report"]["imported"] == 50 and [e["index"] for e in lines[-1]["report"]["errors"]] == [50]
    # Refused before its first commit: the plain answer with its own status.
    assert_error(await post_import(client, {"format": "csv", "profiles": "nope.csv"}, headers=stream), 400, 4020,
                 "nope.csv")


async def _analyzed(url: str) -> int:
    """How many times ident_entry's statistics were taken by ANALYZE on PostgreSQL (autovacuum's not counted);
    whether SQLite holds any statistics (1) or none (0)."""
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                return int(await conn.scalar(text(
                    "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'ident_entry'")) or 0)
            return int(await conn.scalar(text(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")) or 0)
    finally:
        await engine.dispose()


async def test_an_import_with_an_id_key_has_the_index_statistics_taken_as_it_grows(import_app, database_url,
                                                                                   backend):
    # Each batch looks its rows up among the stored entries; on PostgreSQL, a table that grew from empty has no
    # statistics until autovacuum comes, and the lookup is planned as a scan of every entry under the key.
    client, folder = import_app
    await prepare(client, PHONE_KEY)
    write_csv(folder, "many.csv", HEADER + "\n" + "".join(bench_rows(3000)))
    before = await _analyzed(database_url)
    report = await imported(client, {"format": "csv", "profiles": "many.csv", "id-key": "by_phone",
                                     "batch-size": 500})
    assert (report["imported"], report["errors"]) == (3000, [])
    if backend == "postgres":
        assert await _analyzed(database_url) - before == 2  # at 1,000 rows stored, and at 2,000
    else:
        assert await _analyzed(database_url) == before == 0  # SQLite's plans are left as they are
