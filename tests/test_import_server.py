"""Bulk import against a real `ucs-graphql serve` process: the CLI uploading to it, and a server killed
(SIGKILL) mid-import that keeps exactly its committed batches and resumes from the log's index."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bench.import_bench import HEADER, rows
from bench.invariants import check as check_invariants
from bench.net import free_port
from tests.conftest import wipe
from tests.import_fixtures import ADDRESS, PHONE_KEY
from ucs_graphql.access import tasks as t
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.tables.extensions import extension_record, extension_unique
from ucs_graphql.db.tables.profiles import ident_entry, profile

EXE = str(Path(sys.executable).with_name("ucs-graphql"))
BATCH = 50


class Server:
    """A serving process on the test database, reading imports from `folder`."""

    def __init__(self, url: str, folder: Path, config: str = "") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = url
        self.config = folder / "ucs.toml"
        self.config.write_text(f'import_dir = "{folder}"\naccess_log = false\n{config}')
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with (self.config.parent / "server.log").open("ab") as out:
            self.proc = subprocess.Popen([EXE, "serve", "--database", self.url, "--config", str(self.config),
                                          "--port", str(self.port)], stdout=out, stderr=out)

    async def start(self) -> None:
        self.spawn()
        async with httpx.AsyncClient(base_url=self.base) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Server, Path]]:
    folder = tmp_path / "import"
    folder.mkdir()
    server = Server(database_url, folder)
    await server.start()
    try:
        yield server, folder
    finally:
        server.stop()
        await wipe(database_url)


async def setup_schema(base: str) -> None:
    """The Address extension and a phone key; maintenance mode."""
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.post("/metadata/profiles/extensions", json=ADDRESS)).status_code == 201
        assert (await client.post("/server/mode", json={"mode": "maintenance"})).status_code == 200
        assert (await client.post("/metadata/identification-keys", json=PHONE_KEY)).status_code == 201


def write_rows(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        out.writelines(rows(count))


def cli(*args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run([EXE, "import", *args, "--json"], capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


async def counts(url: str) -> dict[str, int]:
    """Profiles, and how many of them lack a record, a unique row or their phone entries; orphan entries."""
    engine = throwaway_engine(url)
    try:
        async with engine.connect() as conn:
            ids = select(profile.c.customer_id)
            n = await conn.scalar(select(func.count()).select_from(profile))
            recs = await conn.scalar(select(func.count()).select_from(extension_record))
            uniques = await conn.scalar(select(func.count()).select_from(extension_unique))
            orphans = await conn.scalar(select(func.count()).select_from(ident_entry)
                                        .where(ident_entry.c.customer_id.not_in(ids)))
            indexed = await conn.scalar(select(func.count(func.distinct(ident_entry.c.customer_id))))
            orphan_recs = await conn.scalar(select(func.count()).select_from(extension_record)
                                            .where(extension_record.c.owner.not_in(ids)))
    finally:
        await engine.dispose()
    return {"profiles": n, "records": recs, "uniques": uniques, "indexed": indexed, "orphan_entries": orphans,
            "orphan_records": orphan_recs}


async def test_the_cli_uploads_to_a_running_server(served):
    server, folder = served
    await setup_schema(server.base)
    source = folder.parent / "outside-the-import-dir.csv"
    write_rows(source, 120)
    with source.open("a") as out:
        out.write("broken,row\n")
    rc, report, err = await asyncio.to_thread(cli, str(source), "--server", server.base, "--batch-size", "40",
                                              "--create-log")
    assert rc == 1, err
    assert (report["imported"], report["next-index"], report["complete"]) == (120, 121, True)
    # The upload's bar, then the server's progress while it imports (streamed after each committed batch).
    assert "lines sent" in err and "uploaded; the server is importing" in err and "rows imported" in err
    assert [e["index"] for e in report["errors"]] == [120]
    assert "imported 120" in err and "120: bad parameter 'Importing profile'" in err
    assert (folder / "1" / "outside-the-import-dir.csv.log").is_file()
    # Again with the phone key: every row is already known and skipped.
    rc, report, err = await asyncio.to_thread(cli, str(source), "--server", server.base, "--id-key", "by_phone",
                                              "--max-errors", "0")
    assert (report["imported"], report["skipped"], len(report["errors"])) == (0, 120, 1)
    assert (await counts(server.url))["profiles"] == 120


async def test_a_killed_server_keeps_whole_batches_and_the_import_resumes(served):
    server, folder = served
    await setup_schema(server.base)
    total = 20_000
    (folder / "1").mkdir()
    write_rows(folder / "1" / "big.csv", total)
    log = folder / "1" / "big.csv.log"
    description = {"format": "csv", "profiles": "big.csv", "batch-size": BATCH, "create-log": True}

    async def post() -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
            with contextlib.suppress(httpx.TransportError):
                await client.post("/profiles/import", files={"description": (None, json.dumps(description))})

    request = asyncio.create_task(post())
    for _ in range(600):
        if log.exists() and log.read_text().count('"committed"') >= 5:
            break
        await asyncio.sleep(0.02)
    server.kill()
    await request
    committed = [json.loads(line) for line in log.read_text().splitlines() if '"committed"' in line]
    resume = committed[-1]["next-index"]
    assert 0 < resume < total, "the import finished before the kill"
    found = await counts(server.url)
    # Whole batches only: the log's index, or one batch more when the kill came between commit and log line.
    assert found["profiles"] % BATCH == 0 and found["profiles"] in (resume, resume + BATCH), (found, resume)
    assert found["records"] == found["indexed"] == found["profiles"], found
    assert found["uniques"] == 0, found  # Address is single-valued: its one record needs no unique row
    assert found["orphan_entries"] == found["orphan_records"] == 0, found
    # The whole-database invariant checker of the soak agrees: index, unique rows and records all consistent.
    assert await check_invariants(server.url) == []

    await server.start()
    async with httpx.AsyncClient(base_url=server.base, timeout=300) as client:
        resumed = await client.post("/profiles/import", files={"description": (None, json.dumps(
            {**description, "start-from-index": resume, "id-key": "by_phone", "batch-size": 500}))})
    assert resumed.status_code == 200, resumed.text
    report = resumed.json()
    assert report["complete"] and report["errors"] == [] and report["next-index"] == total
    assert report["skipped"] == found["profiles"] - resume
    final = await counts(server.url)
    assert final["profiles"] == final["records"] == final["indexed"] == total
    assert await check_invariants(server.url) == []


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "import", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


async def test_the_cli_says_in_one_line_when_the_server_cannot_be_reached_or_the_url_is_wrong(tmp_path):
    source = tmp_path / "p.csv"
    source.write_text("FirstName\nAnn\n")
    cases = [(f"http://127.0.0.1:{free_port()}", 3, "cannot reach"), ("http://no-such-host.invalid:8080", 3,
             "cannot reach"), ("ftp://127.0.0.1/", 4, "not a server URL"), ("127.0.0.1:8080", 4, "not a server URL"),
             ("http://127.0.0.1:99999", 4, "port"), ("http://127.0.0.1:80x", 4, "port")]
    for url, rc, fragment in cases:
        done = await asyncio.to_thread(run_cli, str(source), "--server", url)
        assert done.returncode == rc, (url, done.stderr)
        assert fragment in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Server, Path]]:
    """A serving process with users: `importer` may import, `reader` may only read."""
    folder = tmp_path / "import"
    folder.mkdir()
    secret = hash_secret("pw", ln=4)
    config = (f'[[roles]]\nname = "importer"\ntasks = {json.dumps(sorted(t.ALL_TASKS))}\n\n'
              f'[[roles]]\nname = "reader"\ntasks = ["{t.READ_SERVER_INFO}"]\n\n'
              f'[[users]]\nname = "importer"\npassword_hash = "{secret}"\nroles = ["importer"]\n\n'
              f'[[users]]\nname = "reader"\npassword_hash = "{secret}"\nroles = ["reader"]\n')
    server = Server(database_url, folder, config)
    await server.start()
    try:
        yield server, folder
    finally:
        server.stop()
        await wipe(database_url)


async def test_the_cli_is_refused_before_it_uploads_and_exits_with_the_refusal_status(guarded):
    server, folder = guarded
    source = folder.parent / "big.csv"
    write_rows(source, 100_000)  # 14 MB: the upload's bar would show it going
    ok = {"UCS_PASSWORD": "pw"}
    for user, password, status in (("importer", "wrong", 401), ("reader", "pw", 403), ("importer", "pw", 403)):
        done = await asyncio.to_thread(run_cli, str(source), "--server", server.base, "--user", user,
                                       env={"UCS_PASSWORD": password})
        assert done.returncode == 5, done.stderr
        assert f"the server answered {status}" in done.stderr and "lines sent" not in done.stderr, done.stderr
    # (the last one: production mode, which the message names)
    assert "maintenance" in done.stderr
    # A wrong base path is a 404: not the URL of an import.
    done = await asyncio.to_thread(run_cli, str(source), "--server", server.base + "/cv", "--user", "importer",
                                   env=ok)
    assert done.returncode == 4 and "no bulk import at" in done.stderr, done.stderr
