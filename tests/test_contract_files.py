"""Golden files and documents that clients depend on: schema.graphql, /openapi.json, migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from rest_compat.routes import ROUTES
from ucs_graphql.db.engine import throwaway_engine
from ucs_graphql.db.migrate import current_revision, head_revision
from ucs_graphql.db.tables import metadata
from ucs_graphql.graphql.schema import sdl

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_the_live_schema():
    assert (ROOT / "schema.graphql").read_text() == sdl(), (
        "schema.graphql is stale: run `make schema` (ucs-graphql export-schema > schema.graphql)"
    )


async def test_graphql_introspection_is_on_by_default(client):
    resp = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert resp.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_openapi_covers_every_route_in_the_table(client):
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    for op in ROUTES:
        path = op.path.replace(":int", "")
        operation = doc["paths"][path][op.method.lower()]
        assert operation["x-ucs-ref"] == op.ref
        assert operation["x-ucs-task"] == op.task
        assert str(op.status) in operation["responses"]
        assert operation["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "CV.WS.STAT" in docs.text


def test_route_table_has_one_entry_per_method_and_path():
    seen = {(op.method, op.path) for op in ROUTES}
    assert len(seen) == len(ROUTES)
    assert all(op.task.startswith("UCS.") for op in ROUTES)


async def test_migrations_reach_head_and_match_the_models(database_url):
    assert await current_revision(database_url) == head_revision()
    engine = throwaway_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    finally:
        await engine.dispose()
    assert diff == [], diff


async def test_openapi_declares_both_credential_schemes(client):
    doc = (await client.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert {"basic": []} in doc["security"] and {"bearer": []} in doc["security"]


async def test_graphql_json_post_and_strawberry_paths_answer_alike(client):
    query = '{ serverStatus { mode } identificationKey(name: "nope") { name } }'
    lean = await client.post("/graphql", json={"query": query})
    # GET runs the same way.
    batched = await client.get("/graphql", params={"query": query})
    assert lean.status_code == batched.status_code == 200
    assert lean.json() == batched.json()
    assert lean.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    syntax = await client.post("/graphql", json={"query": "{ serverStatus { mode "})
    assert syntax.status_code == 200 and syntax.json()["errors"][0]["message"].startswith("Syntax Error")
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED" and "data" not in syntax.json()
    bad = await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    sub = await client.post("/graphql", json={"query": "subscription { journeyEvents { kind } }"})
    assert sub.status_code == 400 and sub.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    unknown = await client.post("/graphql", json={"query": "query A { serverStatus { mode } }", "operationName": "B"})
    assert unknown.status_code == 400


async def test_migrate_creates_the_folder_of_a_new_sqlite_database(tmp_path):
    from ucs_graphql.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/not/yet/there/ucs.db"
    await upgrade(url)
    assert (tmp_path / "not" / "yet" / "there" / "ucs.db").is_file()
    assert await current_revision(url) == head_revision()


async def test_upgrading_a_database_of_an_earlier_release_drops_the_index_of_records_by_extension(tmp_path):
    from sqlalchemy import inspect, text

    from ucs_graphql.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/earlier.db"
    await upgrade(url, "0004")
    engine = throwaway_engine(url)

    async def indexes() -> list[str]:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: [i["name"] for i in inspect(c).get_indexes("extension_record")])

    try:
        async with engine.begin() as conn:  # as releases up to 0004 created it
            await conn.execute(text("CREATE INDEX ix_extension_record_ext ON extension_record (tenant_id, level, ext)"))
        assert "ix_extension_record_ext" in await indexes()
        await upgrade(url)
        assert "ix_extension_record_ext" not in await indexes()
        assert await current_revision(url) == head_revision()
    finally:
        await engine.dispose()


def test_the_suite_runs_on_the_pinned_versions():
    """make run and make test install constraints.txt; the compiled plans were checked against those."""
    from importlib.metadata import version

    pinned = dict(line.split("==", 1) for line in (Path(__file__).parent.parent / "constraints.txt")
                  .read_text().splitlines() if "==" in line and not line.startswith("#"))
    for name in ("strawberry-graphql", "graphql-core", "SQLAlchemy", "starlette", "asyncpg", "aiosqlite"):
        assert version(name) == pinned[name], name
