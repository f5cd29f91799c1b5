"""Scale-out readiness: every tenant table is keyed by tenant first, and databases of earlier releases
are migrated to those keys with their data and ids."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import Index, PrimaryKeyConstraint, UniqueConstraint, text

from tests import tenant_queries
from tests.conftest import PG_ADMIN_URL
from tests.tenant_queries import SERVER_WIDE
from ucs_graphql.config import load_settings
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.migrate import current_revision, head_revision, upgrade
from ucs_graphql.db.tables import metadata
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime


@asynccontextmanager
async def _served(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served, with its runtime started, on `database_url`."""
    settings = load_settings({"database_url": database_url, "access_log": False, "allowed_hosts": ["testserver"]},
                             environ={})
    rt = create_runtime(settings)
    watcher = await start_runtime(rt)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, rt)),
                                     base_url="http://testserver") as client:
            yield client
    finally:
        await stop_runtime(rt, watcher)


def _keys(table_name: str) -> list[tuple[str, list[str]]]:
    """(what, leading columns) of the primary key, every unique constraint and every index of a table."""
    table = metadata.tables[table_name]
    out: list[tuple[str, list[str]]] = []
    for const in table.constraints:
        if isinstance(const, (PrimaryKeyConstraint, UniqueConstraint)):
            out.append((f"{type(const).__name__} {const.name}", [c.name for c in const.columns]))
    for index in table.indexes:
        out.append((f"index {index.name}", [getattr(e, "name", str(e)) for e in index.expressions]))
    return out


def test_every_key_of_a_tenant_table_leads_with_tenant_id():
    assert SERVER_WIDE.keys() - metadata.tables.keys() == {"alembic_version"}
    broken = [f"{name}: {what} ({', '.join(cols)})" for name in sorted(metadata.tables)
              if name not in SERVER_WIDE for what, cols in _keys(name) if not cols or cols[0] != "tenant_id"]
    assert broken == [], "keys of tenant tables must lead with tenant_id:\n" + "\n".join(broken)
    # Every tenant table has a primary key, and tenant_id is in it (Citus needs the distribution column there).
    for name, table in metadata.tables.items():
        if name not in SERVER_WIDE:
            assert "tenant_id" in table.primary_key.columns, name


def test_the_rule_catches_a_key_without_tenant_id():
    from sqlalchemy import Column, Integer, String, Table

    probe = Table("probe_rule", metadata, Column("tenant_id", Integer, primary_key=True),
                  Column("name", String(8), primary_key=True), Column("seq", Integer), UniqueConstraint("seq"))
    Index("ix_probe_rule_name", probe.c.name)
    try:
        keys = dict(_keys("probe_rule"))
        assert keys["UniqueConstraint uq_probe_rule_seq"] == ["seq"]
        assert keys["index ix_probe_rule_name"] == ["name"]
    finally:
        metadata.remove(probe)


@pytest.fixture
async def earlier_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the backend under test, migrated by nothing yet."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/earlier.db"
        return
    name = f"ucs_earlier_{uuid.uuid4().hex[:8]}"
    admin = throwaway_engine(PG_ADMIN_URL)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"CREATE DATABASE {name}"))
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


ITEM = "started_at, started, completed_at, completed"
ITEM_VALUES = "1242129912145, '{\"timestamp\": \"2009-05-12T12:05:12.145Z\"}', NULL, NULL"


async def test_upgrading_a_database_of_the_previous_release_keeps_services_and_never_reuses_an_id(earlier_url, backend):
    await upgrade(earlier_url, "0005")
    engine = throwaway_engine(earlier_url)
    try:
        async with engine.begin() as conn:  # as the previous release wrote them: ids from one counter
            for tenant in (1, 2, 1, 1):
                await conn.execute(text(f"INSERT INTO service (tenant_id, customer_id, service_type, {ITEM}) "
                                        f"VALUES ({tenant}, 'c{tenant}', '1', {ITEM_VALUES})"))
            await conn.execute(text(f"INSERT INTO service_state (tenant_id, service_id, state_type, {ITEM}) "
                                    f"VALUES (1, 1, '2', {ITEM_VALUES})"))
            await conn.execute(text(f"INSERT INTO service_task (tenant_id, service_id, state_id, task_type, {ITEM}) "
                                    f"VALUES (1, 1, 1, '3', {ITEM_VALUES})"))
            # The newest service is deleted: its id (4) must not come back.
            await conn.execute(text("DELETE FROM service WHERE service_id = 4"))
    finally:
        await engine.dispose()

    await upgrade(earlier_url)
    assert await current_revision(earlier_url) == head_revision()
    if backend == "postgres":  # service ids stay exact in JavaScript
        engine = throwaway_engine(earlier_url)
        try:
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT max_value FROM pg_sequences WHERE sequencename = "
                                              "'service_service_id_seq'")) == 2**53 - 1
        finally:
            await engine.dispose()

    async with _served(earlier_url) as client:
        old = (await client.get("/services/1")).json()
        assert old["service_id"] == 1 and old["customer_id"] == "c1"
        states = (await client.get("/services/1/states/active?active_tasks=true")).json()
        assert [s["state_id"] for s in states] == [1]
        assert [t["task_id"] for t in states[0]["active_tasks"]] == [1]
        assert (await client.get("/services/2")).status_code == 404  # tenant 2's
        started = await client.post("/services/start", json={
            "timestamp": "2009-05-12T12:05:12.145Z", "service_type": 1, "customer_id": "c1"})
        assert started.status_code == 201, started.text
        assert started.json()["service_id"] == 5
        state = await client.post("/services/5/states/start", json={
            "timestamp": "2009-05-12T12:05:12.145Z", "state_type": 1})
        assert state.status_code == 201, state.text
        assert state.json()["state_id"] == 2
        task = await client.post("/services/5/tasks/start", json={
            "timestamp": "2009-05-12T12:05:12.145Z", "task_type": 1})
        assert task.status_code == 201, task.text
        assert task.json()["task_id"] == 2


async def test_the_code_names_tenant_id_in_every_statement_on_a_tenant_table(client):
    before, found = tenant_queries.seen[0], len(tenant_queries.violations)
    customer = (await client.post("/profiles", json={"FirstName": "Ada"})).json()["customer_id"]
    other = (await client.post("/profiles", json={"FirstName": "Bob"})).json()["customer_id"]
    service_id = (await client.post("/services/start", json={
        "timestamp": "2009-05-12T12:05:12.145Z", "service_type": 1, "customer_id": other})).json()["service_id"]
    state = await client.post(f"/services/{service_id}/states/start", json={
        "timestamp": "2009-05-12T12:05:12.145Z", "state_type": 1})
    task = await client.post(f"/services/{service_id}/tasks/start", json={
        "timestamp": "2009-05-12T12:05:12.145Z", "task_type": 1, "state_id": state.json()["state_id"]})
    assert task.status_code == 201, task.text
    assert (await client.get(f"/customers/{other}/services/active?active_states=true")).status_code == 200
    assert (await client.put(f"/profiles/{customer}/merge/{other}", json={})).status_code == 204
    assert (await client.get(f"/services/{service_id}")).json()["customer_id"] == customer
    assert (await client.delete(f"/profiles/{customer}")).status_code in (200, 204)
    # The hook saw the code's statements (the fast path's too), and none of them left tenant_id out.
    assert tenant_queries.seen[0] - before >= 10
    assert tenant_queries.violations[found:] == []


def test_the_check_flags_a_statement_without_tenant_id():
    assert tenant_queries.unscoped_tables('SELECT service.service_id FROM service WHERE service.customer_id = $1') \
        == ["service"]
    assert tenant_queries.unscoped_tables("DELETE FROM service_task WHERE service_task.tenant_id = ?") == []
    assert tenant_queries.unscoped_tables("SELECT value FROM server_state WHERE name = ?") == []
    assert tenant_queries.unscoped_tables("CREATE INDEX ix ON profile (customer_id)") == []
    assert tenant_queries.unscoped_tables(
        "SELECT service.tenant_id, service.service_id FROM service WHERE service.service_id = $1") == ["service"]
    assert tenant_queries.unscoped_tables(
        "SELECT s.service_id FROM service AS s JOIN service_state ON service_state.tenant_id = s.tenant_id "
        "WHERE s.tenant_id = ?") == []
    assert tenant_queries.unscoped_tables("UPDATE profile SET data=? WHERE tenant_id = ? AND customer_id = ?") == []
    assert tenant_queries.unscoped_tables(
        "WITH w0 AS (INSERT INTO profile (tenant_id, customer_id) SELECT r->>0, r->>1 FROM "
        "jsonb_array_elements(CAST($1 AS jsonb)) AS r) SELECT 1") == []
    assert tenant_queries.unscoped_tables("INSERT INTO profile (customer_id, data) VALUES (?, ?)") == ["profile"]


def test_the_citus_ddl_of_the_docs_distributes_every_table_with_its_keys():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scale-out.md").read_text()
    block = doc.split("```sql\n", 1)[1].split("```", 1)[0]
    statements = [s.strip() for s in block.split(";") if s.strip()]
    call = re.compile(r"SELECT (create_distributed_table|create_reference_table)\('(\w+)'"
                      r"(?:, '(\w+)')?(?:, colocate_with => '(\w+)')?\)$")
    seen: list[str] = []
    distributed: set[str] = set()
    for statement in statements:
        m = call.match(statement)
        assert m, f"not a statement this test knows: {statement}"
        kind, table_name, column, colocate = m.groups()
        assert table_name in metadata.tables, table_name
        table = metadata.tables[table_name]
        seen.append(table_name)
        if kind == "create_reference_table":
            assert column is None and table_name in SERVER_WIDE, table_name
            continue
        assert column == "tenant_id" and table_name not in SERVER_WIDE, table_name
        # Citus refuses a distributed table whose primary key or a unique constraint lacks the column.
        for const in table.constraints:
            if isinstance(const, (PrimaryKeyConstraint, UniqueConstraint)):
                assert column in const.columns, f"{table_name}: {const.name}"
        for index in table.indexes:
            if index.unique:
                assert column in index.columns, f"{table_name}: {index.name}"
        assert colocate is None or colocate in distributed, f"{table_name} colocated with a later table"
        assert table.c[column].type.python_type is metadata.tables[colocate or table_name].c[column].type.python_type
        distributed.add(table_name)
    assert sorted(seen) == sorted(metadata.tables), "every table exactly once"


DATA = Path(__file__).resolve().parent / "data"


async def _restore(url: str, backend: str, sql: str) -> None:
    """Load a database written as SQL (tests/release_db.py) into an empty one."""
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executescript(sql)
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_database_written_by_the_release_before_tenant_keys_upgrades_with_its_data(earlier_url, backend):
    """The previous release's own code wrote this database through its REST API (tests/release_db.py, run on a
    checkout of that release): after the upgrade every item reads back and no id is given twice."""
    release = json.loads((DATA / f"release-0005-{backend}.json").read_text())
    await _restore(earlier_url, backend, release["sql"])
    assert await current_revision(earlier_url) == release["revision"] == "0005"
    await upgrade(earlier_url)
    assert await current_revision(earlier_url) == head_revision()
    wrote = release["wrote"]
    ann, bob = wrote["profiles"]["ann"], wrote["profiles"]["bob"]
    services, states, tasks, highest = wrote["services"], wrote["states"], wrote["tasks"], wrote["highest"]
    two = {"X-Genesys-TenantId": "2"}

    async with _served(earlier_url) as client:
        profile = (await client.get(f"/profiles/{ann}?extensions=Phone")).json()
        assert profile["FirstName"] == "Ann" and profile["Phone"][0]["PhoneNumber"] == "+33314592653", profile
        found = await client.get("/profiles", params={"Phone.PhoneNumber": "+33 3 14 59 26 53"})
        assert found.json() == {"customer_id": ann}, found.text
        assert (await client.get(f"/profiles/{bob}", headers=two)).json()["FirstName"] == "Bob"
        assert (await client.get(f"/profiles/{bob}")).status_code == 404

        done = (await client.get(f"/services/{services['done']}")).json()
        assert done["customer_id"] == ann and done["disposition"] == 1 and done["completed"], done
        assert [s["state_id"] for s in (await client.get(f"/services/{services['done']}/states")).json()] == [
            states["done"]]
        assert [t["task_id"] for t in (await client.get(f"/services/{services['done']}/tasks")).json()] == [
            tasks["done"]]
        active = (await client.get(f"/services/{services['active']}/states/active?active_tasks=true")).json()
        assert [s["state_id"] for s in active] == [states["active"]]
        assert [t["task_id"] for t in active[0]["active_tasks"]] == [tasks["active"]]
        assert [s["service_id"] for s in (await client.get(f"/customers/{ann}/services/active")).json()] == [
            services["active"]]
        anonymous = (await client.get("/services/anonymous/+15550100/active")).json()
        assert [s["service_id"] for s in anonymous] == [services["anonymous"]]
        assert (await client.get(f"/services/{services['tenant2']}", headers=two)).status_code == 200
        assert (await client.get(f"/services/{services['tenant2']}")).status_code == 404
        assert (await client.get(f"/services/{highest['service']}")).status_code == 404  # deleted before
        ixns = (await client.get(f"/customers/{ann}/interactions")).json()
        assert [i["interaction_id"] for i in ixns] == ["old-chat-1"], ixns

        got = (await client.post("/graphql", json={"query": """query($c: String!) { profile(customerId: $c) {
            activeServices { edges { node { serviceId states { stateId tasks { taskId } } } } }
            interactions { edges { node { interactionId service { serviceId } } } } } }""",
                                                   "variables": {"c": ann}})).json()
        assert got == {"data": {"profile": {
            "activeServices": {"edges": [{"node": {"serviceId": services["active"], "states": [
                {"stateId": states["active"], "tasks": [{"taskId": tasks["active"]}]}]}}]},
            "interactions": {"edges": [{"node": {"interactionId": "old-chat-1",
                                                 "service": {"serviceId": services["active"]}}}]}}}}

        # New items take ids above every id the release gave, those of deleted items included.
        sid = (await client.post("/services/start", json={"service_type": 1, "customer_id": ann})).json()
        assert sid["service_id"] == highest["service"] + 1, sid
        state = await client.post(f"/services/{sid['service_id']}/states/start", json={"state_type": 1})
        assert state.json()["state_id"] == highest["state"] + 1, state.text
        task = await client.post(f"/services/{sid['service_id']}/tasks/start", json={"task_type": 1})
        assert task.json()["task_id"] == highest["task"] + 1, task.text
