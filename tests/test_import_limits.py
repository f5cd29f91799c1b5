"""Bulk import refuses before it reads: mode and tasks before any byte of the body, the description before the
file, a line past MAX_LINE before the rest of it; each tenant reads and logs in its own import directory only;
option values that are not usable (encodings, paths, file names) are 400s with the reference's error object."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import assert_error, basic, set_mode
from tests.import_fixtures import SAMPLE, imported, post_import, prepare, write_csv
from ucs_graphql.access import tasks as t
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.imports.source import MAX_LINE

CHUNK = 64 * 1024
MiB = 1024 * 1024


class Body:
    """A multipart import body sent as a stream: the description part, then `size` bytes of file from
    `chunks`; `sent` counts the bytes the server has pulled."""

    def __init__(self, description: Any, chunks: Iterator[bytes] | None = None, *, description_as_file: bool = False,
                 filename: str = "big.csv") -> None:
        self.boundary = "b0undary"
        self.description = description if isinstance(description, bytes) else json.dumps(description).encode()
        self.as_file = description_as_file
        self.chunks = chunks
        self.filename = filename
        self.sent = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": f"multipart/form-data; boundary={self.boundary}"}

    async def stream(self) -> AsyncIterator[bytes]:
        named = '; filename="description.json"' if self.as_file else ""
        head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"description\"{named}\r\n"
                f"Content-Type: application/json\r\n\r\n").encode()
        parts = [head + self.description]
        if self.chunks is not None:
            parts.append((f"\r\n--{self.boundary}\r\nContent-Disposition: form-data; name=\"profiles\"; "
                          f"filename=\"{self.filename}\"\r\nContent-Type: text/csv\r\n\r\n").encode())
        for part in parts:
            self.sent += len(part)
            yield part
        for chunk in self.chunks or ():
            self.sent += len(chunk)
            yield chunk
        yield f"\r\n--{self.boundary}--\r\n".encode()

    async def post(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> httpx.Response:
        return await client.post("/profiles/import", content=self.stream(), headers={**self.headers, **(headers or {})})


def rows(count: int) -> Iterator[bytes]:
    """A CSV file of `count` 64 KiB chunks of short records."""
    yield b"FirstName\n"
    line = b"Ann\n" * (CHUNK // 4)
    for _ in range(count):
        yield line


def one_line(size: int) -> Iterator[bytes]:
    """A file of one line of `size` bytes, in 64 KiB chunks."""
    for _ in range(size // CHUNK):
        yield b"a" * CHUNK


async def test_production_mode_is_refused_before_a_byte_of_the_body_is_read(import_app):
    client, _ = import_app
    body = Body({"format": "csv"}, rows(1600))  # 100 MiB if it were read
    assert_error(await body.post(client), 403, 4031, "maintenance")
    assert body.sent == 0


async def test_a_caller_without_create_profile_is_refused_before_a_byte_of_the_body_is_read(make_client, tmp_path):
    secret = hash_secret("pw", ln=4)
    config = (f'[[roles]]\nname = "bulk"\ntasks = ["{t.EXECUTE_BULK_IMPORT}"]\n\n'
              f'[[roles]]\nname = "all"\ntasks = {json.dumps(sorted(t.ALL_TASKS))}\n\n'
              f'[[users]]\nname = "bulk"\npassword_hash = "{secret}"\nroles = ["bulk"]\n\n'
              f'[[users]]\nname = "all"\npassword_hash = "{secret}"\nroles = ["all"]\n')
    client = await make_client(import_dir=str(tmp_path / "import"), config_text=config)
    client.headers.update(basic("all", "pw"))
    await set_mode(client, "maintenance")
    body = Body({"format": "csv"}, rows(1600))
    assert_error(await body.post(client, basic("bulk", "pw")), 403, contains=t.CREATE_PROFILE)
    assert body.sent == 0
    body = Body({"format": "csv"}, rows(1600))
    assert_error(await body.post(client, basic("bulk", "wrong")), 401)
    assert body.sent == 0


@pytest.mark.parametrize("description, status, fragment", [
    ({"format": "csv", "encoding": "rot13"}, 400, "encoding"),
    ({"format": "csv", "id-key": "nope"}, 400, "nope"),
    ({"format": "csv", "profiles": "p.csv"}, 400, "not both"),
    (b"{ not json", 400, "JSON"),
])
async def test_a_refused_description_is_answered_before_the_file_is_read(import_app, description, status, fragment):
    client, _ = import_app
    await prepare(client, address=False)
    body = Body(description, rows(1600))
    assert_error(await body.post(client), status, contains=fragment)
    assert body.sent < 2 * CHUNK  # the description and the part's headers; none of the file's 100 MiB


async def test_a_description_sent_as_a_file_is_read_up_to_its_limit_only(import_app):
    client, _ = import_app
    await prepare(client, address=False)
    body = Body(b'{"format": "csv", "x": "' + b"x" * 50 * MiB + b'"}', rows(10), description_as_file=True)
    assert_error(await body.post(client), 413, contains="description")
    assert body.sent < len(body.description) + 1000  # it came as one chunk: the next one was never read
    # In chunks, it stops after the 64 KiB a description may hold.
    chunks = iter([b"x" * CHUNK] * 800)
    body = Body(b"", chunks, description_as_file=True)

    async def description_in_chunks() -> AsyncIterator[bytes]:
        yield (f"--{body.boundary}\r\nContent-Disposition: form-data; name=\"description\"; filename=\"d.json\""
               "\r\n\r\n").encode()
        for chunk in chunks:
            body.sent += len(chunk)
            yield chunk

    resp = await client.post("/profiles/import", content=description_in_chunks(), headers=body.headers)
    assert_error(resp, 413, contains="description")
    assert body.sent <= 2 * CHUNK


async def test_the_file_comes_after_the_description_and_no_other_parts_are_taken(import_app):
    client, _ = import_app
    await prepare(client, address=False)
    resp = await client.post("/profiles/import", files=[
        ("profiles", ("p.csv", b"FirstName\nAnn\n", "text/csv")), ("description", (None, '{"format":"csv"}'))])
    assert_error(resp, 400, 4020, "must come first")
    resp = await client.post("/profiles/import", files=[("description", (None, '{"format":"csv"}')),
                                                        ("colour", (None, "red"))])
    assert_error(resp, 400, 4020, "colour")
    assert (await imported(client, {"format": "csv"}, upload=b"FirstName\nAnn\n"))["imported"] == 1


def _traced(peak_limit: int) -> Any:
    class Peak:
        def __enter__(self) -> Peak:
            tracemalloc.start()
            return self

        def __exit__(self, *exc: Any) -> None:
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert self.peak < peak_limit, f"{self.peak:,} bytes allocated at the peak"

    return Peak()


async def test_a_file_of_one_endless_line_is_refused_with_bounded_memory(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    with (folder / "one-line.csv").open("wb") as out:
        for chunk in one_line(64 * MiB):
            out.write(chunk)
    with _traced(8 * MiB):  # the line would be 64 MiB of bytes, and as much again decoded
        resp = await post_import(client, {"format": "csv", "profiles": "one-line.csv"})
    assert_error(resp, 400, 4020, f"longer than {MAX_LINE:,} bytes")
    # Uploaded: spooled to disk, then refused the same way.
    body = Body({"format": "csv"}, one_line(64 * MiB))
    with _traced(8 * MiB):
        resp = await body.post(client)
    assert_error(resp, 400, 4020, f"longer than {MAX_LINE:,} bytes")


async def test_a_record_line_past_the_limit_stops_the_import_there(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "long.csv", "FirstName\nAnn\n" + "B" * (MAX_LINE + 10) + "\nCid\n")
    report = await imported(client, {"format": "csv", "profiles": "long.csv", "encoding": "ISO-8859-1"})
    assert (report["imported"], report["complete"], report["next-index"]) == (1, False, 1)
    assert report["errors"][0]["index"] == 1 and "longer than" in report["errors"][0]["reason"]
    # UTF-16 is read by characters, with the same limit.
    write_csv(folder, "long16.csv", "FirstName\n" + "B" * (MAX_LINE + 10) + "\n", encoding="utf-16")
    report = await imported(client, {"format": "csv", "profiles": "long16.csv", "encoding": "UTF-16"})
    assert (report["imported"], report["complete"]) == (0, False) and "longer than" in report["errors"][0]["reason"]
    write_csv(folder, "head16.csv", "F" * (MAX_LINE + 10) + "\n", encoding="utf-16")
    assert_error(await post_import(client, {"format": "csv", "profiles": "head16.csv", "encoding": "UTF-16"}),
                 400, 4020, "longer than")


async def test_each_tenant_reads_and_logs_in_its_own_import_directory(import_app):
    client, folder = import_app
    await prepare(client, address=False)
    other = folder.parent / "2"
    other.mkdir()
    write_csv(folder, "one.csv", "FirstName\nSecret-of-tenant-1\n")
    write_csv(folder.parent, "shared.csv", "FirstName\nOld-shared-file\n")
    tenant2 = {"X-Genesys-TenantId": "2"}
    # Tenant 2 can neither import tenant 1's file nor see its first line in an error.
    for given, status in (("one.csv", 400), ("../1/one.csv", 403), (str(folder / "one.csv"), 403),
                          ("../shared.csv", 403), (str(folder.parent / "shared.csv"), 403)):
        resp = await post_import(client, {"format": "csv", "profiles": given}, headers=tenant2)
        assert_error(resp, status)
        assert "Secret" not in resp.text and "Old-shared" not in resp.text
    # Its own file and its upload's log are in import_dir/2.
    write_csv(other, "two.csv", "FirstName\nTwo\n")
    report = await imported(client, {"format": "csv", "profiles": "two.csv", "create-log": True}, headers=tenant2)
    assert (report["imported"], report["log"]) == (1, "two.csv.log") and (other / "two.csv.log").is_file()
    report = await imported(client, {"format": "csv", "create-log": True}, upload=b"FirstName\nUp\n",
                            filename="one.csv", headers=tenant2)
    assert report["log"] == "one.csv.log" and (other / "one.csv.log").is_file()
    assert not (folder / "one.csv.log").exists()
    # Tenant 1 imports its own file.
    assert (await imported(client, {"format": "csv", "profiles": "one.csv"}))["imported"] == 1


@pytest.mark.parametrize("filename", ["../x.csv", "a/b.csv", "..\\x.csv", "..", "x\x01.csv", "n" * 300])
async def test_an_upload_whose_name_has_path_parts_cannot_name_a_log(import_app, filename):
    client, folder = import_app
    await prepare(client, address=False)
    body = Body({"format": "csv", "create-log": True}, rows(1600), filename=filename)
    assert_error(await body.post(client), 400, 4020, "filename")
    assert body.sent < 2 * CHUNK
    assert sorted(p.name for p in folder.parent.rglob("*")) == ["1"]
    # Without create-log the name names nothing, and the file is imported.
    body = Body({"format": "csv"}, rows(1), filename=filename)
    assert (await body.post(client)).status_code == 200


async def test_a_log_that_is_a_symbolic_link_is_not_written_through(import_app, tmp_path):
    client, folder = import_app
    await prepare(client, address=False)
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep\n")
    write_csv(folder, "p.csv", "FirstName\nAnn\n")
    (folder / "p.csv.log").symlink_to(target)
    assert_error(await post_import(client, {"format": "csv", "profiles": "p.csv", "create-log": True}), 400, 4020,
                 "log")
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize("encoding", ["rot13", "zlib_codec", "base64_codec", "hex", "bz2", "undefined",
                                      "punycode", "idna", "unicode_escape", "utf-8\x00", "x" * 5000, 7, ""])
async def test_encodings_that_are_not_file_encodings_are_bad_parameters(import_app, encoding):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "p.csv", "FirstName\nAnn\n")
    assert_error(await post_import(client, {"format": "csv", "profiles": "p.csv", "encoding": encoding}), 400, 4020,
                 "encoding")
    assert_error(await post_import(client, {"format": "csv", "encoding": encoding}, upload=b"FirstName\nAnn\n"),
                 400, 4020, "encoding")


@pytest.mark.parametrize("encoding, data", [
    ("UTF-16", b"FirstName\nAnn\n"),  # no byte order mark
    ("UTF-32", b"FirstName\nAnn\n"),
    ("UTF-16", b"\xff\xfeF\x00i\x00\n"),  # cut in the middle of a character
    ("utf-7", b"FirstName\n+AGEAYgBj-\n+\xff\n"),
])
async def test_a_file_that_is_not_in_its_encoding_is_a_bad_parameter_or_a_refused_record(import_app, encoding, data):
    client, _ = import_app
    await prepare(client, address=False)
    resp = await post_import(client, {"format": "csv", "encoding": encoding}, upload=data)
    if resp.status_code == 200:
        assert resp.json()["complete"] is False and "decoded" in resp.json()["errors"][0]["reason"]
    else:
        assert_error(resp, 400, 4020)


@pytest.mark.parametrize("path", ["a\x00b.csv", "x" * 5000, "d/" * 2000 + "p.csv", "\udc80.csv", "p\n.csv", "",
                                  "y" * 300 + ".csv"])
async def test_unusable_paths_are_bad_parameters(import_app, path):
    client, _ = import_app
    await prepare(client, address=False)
    resp = await client.post("/profiles/import", files={"description": (None, json.dumps(
        {"format": "csv", "profiles": path}, ensure_ascii=True))})
    if path.startswith("\udc80"):  # not JSON: a lone surrogate is no character
        assert_error(resp, 400, 4000, "JSON")
    else:
        assert_error(resp, 400, 4020, "profiles")


@pytest.mark.parametrize("field, value", [
    ("batch-size", 10**30), ("batch-size", "9" * 5000), ("batch-size", 1.5), ("batch-size", [1]),
    ("max-errors", -1), ("max-errors", {"a": 1}), ("start-from-index", "x"), ("start-from-index", "9" * 5000),
    ("delimiter", "\n"), ("delimiter", ""), ("delimiter", 44), ("create-log", "maybe"), ("id-key", 7),
    ("format", ["csv"]), ("profiles", 7), ("profiles", {"p": 1}),
])
async def test_every_option_value_that_cannot_be_used_is_a_bad_parameter(import_app, field, value):
    client, folder = import_app
    await prepare(client, address=False)
    write_csv(folder, "p.csv", SAMPLE)
    description = {"format": "csv", "profiles": "p.csv", field: value}
    resp = await post_import(client, description)
    assert_error(resp, 400, 4020, field)


async def test_the_reference_html_form_sends_the_description_form_urlencoded(import_app):
    client, folder = import_app
    write_csv(folder, "p.csv", "FirstName\nAnn\n")
    form = {"description": json.dumps({"format": "csv", "profiles": "p.csv"})}
    assert_error(await client.post("/profiles/import", data=form), 403, 4031, "maintenance")
    await prepare(client, address=False)
    resp = await client.post("/profiles/import", data=form)
    assert resp.status_code == 200 and resp.json()["imported"] == 1, resp.text
    # Its JSON is not quite JSON ({ profiles:"D:/myProfiles.csv", ... }): a 400 that says so.
    assert_error(await client.post("/profiles/import", data={"description": '{ profiles:"p.csv", format:"csv" }'}),
                 400, 4000, "JSON")
    # Such a body is read up to 1 MiB: upload larger files as multipart parts.
    assert_error(await client.post("/profiles/import", data={"description": "{}", "profiles": "x" * 2 * MiB}), 413,
                 4130, "multipart")
