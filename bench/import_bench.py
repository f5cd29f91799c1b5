"""Bulk import benchmark: a CSV shaped like the reference's sample (names, two phone numbers, e-mail,
address extension) imported by a `ucs-graphql serve` process on SQLite and on PostgreSQL.

Prints rows/s and the server's peak RSS (VmHWM), beside PostgreSQL's own COPY of the same file into a
plain table as the ceiling. Identification keys on the phone numbers and the e-mail are maintained, as on
single writes.

    .venv/bin/python -m bench.import_bench                       # 1,000,000 rows, both databases
    .venv/bin/python -m bench.import_bench --rows 100000 --backend postgres --batch-size 64 --batch-size 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import os
import pstats
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench.net import free_port

PG_ADMIN = os.environ.get("UCS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
HEADER = ("FirstName,LastName,PhoneNumber[2],PhoneNumber[1],EmailAddress,Address.AddressType,Address.PostCode,"
          "Address.Address,Address.County,Address.City,Address.Country")
ADDRESS = {"name": "Address", "type": "single-valued", "attributes": [
    {"name": n, "type": "integer" if n == "AddressType" else "string"}
    for n in ("AddressType", "PostCode", "Address", "County", "City", "Country")]}
KEYS = [{"name": "by_phone", "attributes": ["PhoneNumber"], "normalize": "phone"},
        {"name": "by_email", "attributes": ["EmailAddress"], "normalize": "email"}]
SYLLABLES = ["ker", "tu", "le", "or", "di", "gus", "ch", "dan", "ye", "hna", "al", "ma", "dy", "va", "nah", "ju",
             "lau", "dri", "cel", "sa", "mo", "ses", "cle", "go", "ne", "ba", "li", "lon", "ni", "mi"]
WORDS = ["et", "malesuada", "vulputate", "Proin", "Donec", "facilisis", "fermentum", "lacus", "id", "bibendum",
         "aliquet", "rutrum", "nonummy", "pellentesque", "ac", "Duis", "felis", "eu", "sagittis", "ut"]
CITIES = ["Pomona", "Kailua", "Irving", "Fort Lauderdale", "Chula Vista", "Allentown", "Jacksonville", "Columbia"]
COUNTRIES = ["Germany", "East Timor", "Cambodia", "Sudan", "Jamaica", "Russian Federation", "Italy", "Romania"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _phone(rng: random.Random, lead: int, i: int) -> str:
    """A phone number unique to row `i` (below 1,000,000 rows) and `lead`, random in its last digits."""
    return f"{lead}-{i // 1000:03d}-{i % 1000:03d}-{rng.randint(0, 9999):04d}"


def rows(count: int, seed: int = 8) -> Iterator[str]:
    """CSV lines after the header; a quoted address holding the delimiter, as in the sample. Phone numbers
    and e-mail addresses are unique to each row."""
    rng = random.Random(seed)
    for i in range(count):
        first, last = _name(rng), _name(rng)
        address = f'"{rng.randint(1, 99)}, {" ".join(rng.choice(WORDS) for _ in range(4))}"'
        yield (f"{first},{last},{_phone(rng, 2, i)},{_phone(rng, 1, i)},{first}.{i}@{last}.net,{rng.randint(0, 7)},"
               f"{rng.randint(0, 9999):04d},{address},{rng.choice(CITIES)},{rng.choice(COUNTRIES)},"
               f"{rng.choice(CITIES)}\n")


def generate(path: Path, count: int) -> None:
    """Write the CSV file (once per row count; reused when present)."""
    if path.exists():
        return
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        out.writelines(rows(count))
    tmp.rename(path)



def _call(base: str, method: str, path: str, body: Any = None, form: bytes | None = None,
          boundary: str = "") -> Any:
    data, headers = None, {}
    if form is not None:
        data, headers = form, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    elif body is not None:
        data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=None) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used (utime + stime of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _server_command(profile: Path | None) -> list[str]:
    """How to start the server: its console script, or under cProfile writing `profile` when it stops."""
    if profile is None:
        return [str(Path(sys.executable).with_name("ucs-graphql"))]
    code = ("import cProfile, sys; from ucs_graphql.cli import main; sys.argv[0] = 'ucs-graphql'; "
            f"cProfile.run('main()', {str(profile)!r})")
    return [sys.executable, "-c", code]


@contextlib.contextmanager
def server(url: str, folder: Path, profile: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A `ucs-graphql serve` process on this database, reading imports from `folder/imports` (tenant 1's
    files in `folder/imports/1`)."""
    port = free_port()
    config = folder / "ucs.toml"
    config.write_text(f'import_dir = "{folder / "imports"}"\naccess_log = false\n')
    proc = subprocess.Popen([*_server_command(profile), "serve", "--database", url, "--config", str(config),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                _call(base, "GET", "/healthz")
                break
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


async def _pg_backends(url: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to this URL's database (the server's pool)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving this database (empty for SQLite, which runs in-process)."""
    if url.startswith("sqlite"):
        return {}
    out = {}
    for pid in asyncio.run(_pg_backends(url)):
        with contextlib.suppress(OSError):
            out[pid] = cpu_seconds(pid)
    return out


def run_import(url: str, folder: Path, name: str, batch: int, profile: Path | None = None) -> dict[str, Any]:
    """Import `name` through a fresh server; rows/s, CPU seconds (server, database) and the server's peak RSS."""
    placed = folder / "imports" / "1" / name  # the file in tenant 1's import directory, a hard link when it can be
    placed.parent.mkdir(parents=True, exist_ok=True)
    placed.unlink(missing_ok=True)
    try:
        os.link(folder / name, placed)
    except OSError:
        shutil.copyfile(folder / name, placed)
    with server(url, folder, profile) as (base, proc):
        _call(base, "POST", "/metadata/profiles/extensions", ADDRESS)
        _call(base, "POST", "/server/mode", {"mode": "maintenance"})
        for key in KEYS:
            _call(base, "POST", "/metadata/identification-keys", key)
        rss_before = peak_rss_mb(proc.pid)
        boundary = uuid.uuid4().hex
        desc = json.dumps({"format": "csv", "profiles": name, "batch-size": batch, "max-errors": 100})
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n"
                f"Content-Type: application/json\r\n\r\n{desc}\r\n--{boundary}--\r\n").encode()
        db_before = database_cpu(url)
        cpu_before = cpu_seconds(proc.pid)
        started = time.perf_counter()
        report = _call(base, "POST", "/profiles/import", form=form, boundary=boundary)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid) - cpu_before
        db_cpu = sum(t - db_before.get(pid, 0.0) for pid, t in database_cpu(url).items())
        return {"rows": report["imported"], "errors": len(report["errors"]), "seconds": seconds,
                "rows_per_s": report["imported"] / seconds, "peak_rss_mb": peak_rss_mb(proc.pid),
                "rss_at_start_mb": rss_before, "cpu_s": cpu, "db_cpu_s": db_cpu}


async def _pg(sql: str, url: str = PG_ADMIN) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def copy_ceiling(url: str, path: Path) -> dict[str, Any]:
    """PostgreSQL's COPY of the same file into a plain table of text columns."""
    conn = await asyncpg.connect(url)
    try:
        cols = ", ".join(f"c{i} text" for i in range(11))
        await conn.execute(f"CREATE TABLE copy_ceiling ({cols})")
        started = time.perf_counter()
        result = await conn.copy_to_table("copy_ceiling", source=str(path), format="csv", header=True)
        seconds = time.perf_counter() - started
        count = int(result.split()[-1])
        return {"rows": count, "seconds": seconds, "rows_per_s": count / seconds}
    finally:
        await conn.close()


def _schema_rows(n: int, fields: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """The rows one imported customer writes (profile, Address record, three index entries), built without
    validation: what the database itself has to store per CSV row."""
    cid = f"b{n:015d}"
    attrs = {"FirstName": [fields[0]], "LastName": [fields[1]], "PhoneNumber": [fields[3], fields[2]],
             "EmailAddress": [fields[4]]}
    address = dict(zip(("AddressType", "PostCode", "Address", "County", "City", "Country"),
                       [int(fields[5]), *fields[6:11]], strict=True))
    digits = ["=" + "".join(c for c in phone if c.isdigit()) for phone in (fields[2], fields[3])]
    return [("profile", (1, cid, 0, json.dumps(attrs))),
            ("extension_record", (1, "profile", cid, "address", 1, json.dumps(address))),
            *[("ident_entry", (1, "by_phone", d, cid, cid)) for d in digits],
            ("ident_entry", (1, "by_email", "=" + fields[4].lower(), cid, cid))]


async def schema_ceiling(url: str, path: Path, batch: int) -> dict[str, Any]:
    """PostgreSQL's COPY of the rows an import writes into the server's own (migrated, indexed) tables,
    one transaction per `batch` CSV rows; only the COPY statements are timed."""
    conn = await asyncpg.connect(url)
    seconds, count = 0.0, 0
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            while True:
                chunk = list(itertools.islice(reader, batch))
                if not chunk:
                    break
                tables: dict[str, list[tuple[Any, ...]]] = {}
                for fields in chunk:
                    for table, row in _schema_rows(count, fields):
                        tables.setdefault(table, []).append(row)
                    count += 1
                started = time.perf_counter()
                async with conn.transaction():
                    for table, rows in tables.items():
                        await conn.copy_records_to_table(table, records=rows)
                seconds += time.perf_counter() - started
        return {"rows": count, "seconds": seconds, "rows_per_s": count / seconds}
    finally:
        await conn.close()


def fresh_database(backend: str, folder: Path) -> tuple[str, Any]:
    """A new empty database URL and how to drop it."""
    if backend == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in folder.glob(path.name + "*")]
    name = f"ucs_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f"CREATE DATABASE {name}"))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    return url, lambda: asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def main() -> None:
    """Generate, import on each backend and batch size, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--batch-size", type=int, action="append")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the CSV and SQLite files go")
    parser.add_argument("--profile", action="store_true",
                        help="run the server under cProfile and print where its time goes")
    args = parser.parse_args()
    folder = Path(args.dir) / "ucs-import-bench"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"profiles-{args.rows}.csv"
    started = time.perf_counter()
    generate(folder / name, args.rows)
    size_mb = (folder / name).stat().st_size / 1e6
    print(f"file {folder / name}: {args.rows:,} rows, {size_mb:.0f} MB ({time.perf_counter() - started:.0f} s)")
    print(f"machine: {os.cpu_count()} cores; other work may run at the same time")
    for backend in args.backend or ["sqlite", "postgres"]:
        for batch in args.batch_size or [64]:
            url, drop = fresh_database(backend, folder)
            try:
                subprocess.run([str(Path(sys.executable).with_name("ucs-graphql")), "migrate", "--database", url],
                               check=True, stdout=subprocess.DEVNULL)
                profile = folder / f"import-{backend}-{batch}.prof" if args.profile else None
                res = run_import(url, folder, name, batch, profile)
            finally:
                drop()
            per_k = 1000 / max(res["rows"], 1)
            db_cpu = f", database {res['db_cpu_s'] * per_k:.3f}" if backend == "postgres" else ""
            print(f"{backend:8} batch-size {batch:5}: {res['rows']:,} rows in {res['seconds']:.1f} s = "
                  f"{res['rows_per_s']:,.0f} rows/s; CPU s per 1,000 rows: server {res['cpu_s'] * per_k:.3f}"
                  f"{db_cpu}; server peak RSS {res['peak_rss_mb']:.0f} MB "
                  f"({res['rss_at_start_mb']:.0f} MB before the import); {res['errors']} errors", flush=True)
            if profile is not None:
                pstats.Stats(str(profile)).sort_stats("tottime").print_stats(30)
        if backend == "postgres":
            url, drop = fresh_database(backend, folder)
            try:
                ceiling = asyncio.run(copy_ceiling(url, folder / name))
            finally:
                drop()
            print(f"postgres COPY ceiling (plain table, text columns): {ceiling['rows']:,} rows in "
                  f"{ceiling['seconds']:.1f} s = {ceiling['rows_per_s']:,.0f} rows/s", flush=True)
            url, drop = fresh_database(backend, folder)
            try:
                subprocess.run([str(Path(sys.executable).with_name("ucs-graphql")), "migrate", "--database", url],
                               check=True, stdout=subprocess.DEVNULL)
                ceiling = asyncio.run(schema_ceiling(url, folder / name, 1000))
            finally:
                drop()
            print(f"postgres COPY of the rows an import writes (5 a CSV row) into the server's tables, 1,000 CSV "
                  f"rows a transaction: {ceiling['rows']:,} rows in {ceiling['seconds']:.1f} s = "
                  f"{ceiling['rows_per_s']:,.0f} rows/s", flush=True)


if __name__ == "__main__":
    main()
