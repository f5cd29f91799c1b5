"""Test fixtures: every behaviour test runs on SQLite and on a real PostgreSQL (127.0.0.1:5432).

PostgreSQL must be reachable: when it is not, the PostgreSQL tests fail (they are never skipped), and the
run fails when no PostgreSQL test passed. UCS_TEST_BACKENDS=sqlite narrows a local run to one engine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests import tenant_queries
from ucs_graphql.config import Settings, load_settings
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.db.tables import metadata
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

pytest_plugins = ("tests.chromium",)  # the headless Chromium of the browser tests: `browser`, `page`

PG_ADMIN_URL = os.environ.get("UCS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
tenant_queries.install()
BACKENDS = [b for b in os.environ.get("UCS_TEST_BACKENDS", "sqlite,postgres").split(",") if b]

_postgres_passed: list[str] = []
_postgres_expected: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test marked postgres_only (e.g. a PostgreSQL outage) exists for that backend only.
    kept, dropped = [], []
    for item in items:
        sqlite_variant = "[sqlite" in item.nodeid or "-sqlite" in item.nodeid
        (dropped if sqlite_variant and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        if "[postgres" in item.nodeid or "-postgres" in item.nodeid:
            _postgres_expected.append(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and ("[postgres" in report.nodeid or "-postgres" in report.nodeid):
        _postgres_passed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if tenant_queries.violations:
        print("\nFAILED: statements on tenant tables without tenant_id (tests/tenant_queries.py):")
        for sender, statement in sorted(set(tenant_queries.violations)):
            print(f"  {sender}: {statement}")
        session.exitstatus = 1
    if "postgres" in BACKENDS and _postgres_expected and not _postgres_passed:
        print("\nFAILED: no PostgreSQL test passed; is PostgreSQL listening on 127.0.0.1:5432?")
        session.exitstatus = 1


async def _admin(sql: str) -> None:
    engine = throwaway_engine(PG_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A freshly migrated database of the backend under test (one per session and backend)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "ucs.db"
        url = f"sqlite:///{path}"
        await upgrade(url)
        yield url
        return
    name = f"ucs_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        await _admin(f"CREATE DATABASE {name}")
    except OSError as err:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({err}); the PostgreSQL tests need it "
                    "(UCS_TEST_PG_URL names another, UCS_TEST_BACKENDS=sqlite leaves them out)", pytrace=False)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def backend(database_url: str) -> str:
    """'sqlite' or 'postgres'."""
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


async def wipe(url: str) -> None:
    """Empty every table (tests share one migrated database per backend)."""
    engine = throwaway_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


Client = httpx.AsyncClient
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(database_url: str, tmp_path: Path) -> AsyncIterator[MakeClient]:
    """Start an app on the test database with settings overrides; every app is stopped and the data wiped."""
    started: list[Any] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        config_text = overrides.pop("config_text", None)
        if config_text is not None:
            cfg = tmp_path / f"ucs-{len(started)}.toml"
            cfg.write_text(config_text)
            overrides["config_file"] = str(cfg)
        overrides.setdefault("access_log", False)
        # The test client's Host; a test of the default list passes allowed_hosts=().
        overrides.setdefault("allowed_hosts", ["testserver"])
        settings: Settings = load_settings({"database_url": database_url, **overrides}, environ={})
        rt = create_runtime(settings)
        app = create_app(settings, rt)
        watcher = await start_runtime(rt)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        started.append((rt, watcher, client))
        return client

    yield make
    for rt, watcher, client in started:
        await client.aclose()
        await stop_runtime(rt, watcher)
    await wipe(database_url)


@pytest.fixture
async def client(make_client: MakeClient) -> httpx.AsyncClient:
    """A client on an app with default settings."""
    return await make_client()


@pytest.fixture
async def import_app(make_client: MakeClient, tmp_path: Path) -> tuple[Any, Path]:
    """A client on a server whose import directory is a fresh folder, and tenant 1's folder in it (where the
    files of tenant 1, the tests' default tenant, go)."""
    folder = tmp_path / "import"
    (folder / "1").mkdir(parents=True)
    return await make_client(import_dir=str(folder)), folder / "1"
