"""`ucs-graphql import` against a database URL: the same use case, run by the command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import set_mode
from tests.import_fixtures import EMAIL_KEY, SAMPLE, identify, prepare, write_csv

EXE = str(Path(sys.executable).with_name("ucs-graphql"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "import", *args], capture_output=True, text=True, timeout=120)


async def test_the_cli_imports_into_a_database_with_a_progress_bar_and_a_summary(make_client, database_url,
                                                                                  tmp_path):
    client = await make_client()
    await prepare(client, EMAIL_KEY)
    source = write_csv(tmp_path, "cli.csv", SAMPLE.replace(",", ";") + "x;y\n")
    done = await asyncio.to_thread(run, str(source), "--database", database_url, "--delimiter", ";",
                                   "--batch-size", "2", "--create-log", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["imported"], [e["index"] for e in report["errors"]]) == (3, [3])
    assert "rows/s" in done.stderr and "ETA" in done.stderr
    assert "imported 3, skipped 0" in done.stderr and "3: bad parameter 'Importing profile'" in done.stderr
    assert (tmp_path / "cli.csv.log").read_text().count('"committed"') == 2
    # The id-key skips what is already there; everything imported is the summary's exit status 0.
    write_csv(tmp_path, "again.csv", SAMPLE)
    done = await asyncio.to_thread(run, str(tmp_path / "again.csv"), "--database", database_url,
                                   "--id-key", "by_email")
    assert done.returncode == 0, done.stderr
    assert "imported 0, skipped 3" in done.stderr
    await set_mode(client, "production")
    assert len(await identify(client, EmailAddress="danye@hna.net")) == 1


async def test_the_cli_refuses_a_database_in_production_mode(make_client, database_url, tmp_path):
    await make_client()
    source = write_csv(tmp_path, "p.csv", "FirstName\nAnn\n")
    done = await asyncio.to_thread(run, str(source), "--database", database_url)
    assert done.returncode == 2 and "maintenance mode" in done.stderr
    done = await asyncio.to_thread(run, str(tmp_path / "absent.csv"), "--database", database_url)
    assert done.returncode == 2 and "is not a file" in done.stderr
