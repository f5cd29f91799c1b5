"""The GraphQL-over-HTTP audit of `graphql-http` (auditServer, pinned in tests/js/package.json) under Node.js
against the served app, with and without access control: no MUST may fail and no SHOULD may warn
(tests/js/graphql-http-audit.mjs; `make audit URL=...` runs it against any server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.js_clients import JS_DIR, node_and_clients
from tests.test_access import basic
from tests.test_clients_gql import TENANT2_CONFIG
from tests.test_subscriptions import served_app


@pytest.fixture(scope="session")
def node() -> str:
    return node_and_clients()


async def audit(node: str, url: str, *headers: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "graphql-http-audit.mjs"), url, *headers, cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert out, err.decode()
    report: dict[str, Any] = json.loads(out)
    report["exit"] = proc.returncode
    return report


def failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["results"] if r["status"] in ("warn", "error")]


async def test_the_graphql_http_audit_passes_every_must_and_should(node, database_url):
    async with served_app(database_url) as served:
        report = await audit(node, served["http"] + "/graphql")
    assert failures(report) == [] and report["exit"] == 0, report
    summary = report["summary"]
    assert summary["error"] == summary["warn"] == 0 and summary["ok"] >= 40, summary
    print("graphql-http audit:", summary)


async def test_the_audit_passes_for_a_signed_in_client(node, database_url, tmp_path: Path):
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(TENANT2_CONFIG)
    authorization = basic("agent2")["Authorization"]
    async with served_app(database_url, config_file=str(cfg)) as served:
        report = await audit(node, served["http"] + "/graphql", f"authorization: {authorization}",
                             "x-genesys-tenantid: 2")
    assert failures(report) == [] and report["exit"] == 0, report
