"""A database as an earlier release wrote it, for tests/test_scale_out.py.

    git worktree add --detach /tmp/earlier 87de1d3   # the last commit before migration 0006
    PYTHONPATH=/tmp/earlier python tests/release_db.py sqlite tests/data/release-0005-sqlite.json
    PYTHONPATH=/tmp/earlier python tests/release_db.py postgres tests/data/release-0005-postgres.json

Runs the app of the checkout on PYTHONPATH in process on a fresh database, writes a little of everything through
its REST API (an extension schema of each level, an identification key, profiles with extension records in two
tenants, services with states and tasks, anonymous services, interactions, a deleted profile whose services were
the newest) and writes one JSON file: the database as SQL (SQLite's dump, or pg_dump --inserts) and what was
written (the ids the test reads back). Nothing here imports the tests or this checkout's code, so any release
with the same entry points writes its database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from ucs_graphql.config import load_settings
from ucs_graphql.db.migrate import current_revision, upgrade
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

PG_ADMIN = os.environ.get("UCS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TIME = "2021-03-04T05:06:07.089Z"
PHONE = {"name": "Phone", "type": "multi-valued", "attributes": [
    {"name": "PhoneNumber", "type": "string", "length": 32, "mandatory": True}, {"name": "PhoneType", "type": "integer"}]}
FEEDBACK = {"name": "Feedback", "type": "single-valued", "attributes": [{"name": "rating", "type": "integer"}]}


async def _write(client: httpx.AsyncClient) -> dict[str, Any]:
    async def call(method: str, path: str, body: Any = None, tenant: int = 1, ok: tuple[int, ...] = (200, 201, 204)
                   ) -> Any:
        got = await client.request(method, path, json=body, headers={"X-Genesys-TenantId": str(tenant)})
        assert got.status_code in ok, (method, path, got.status_code, got.text)
        return got.json() if got.content else None

    for tenant in (1, 2):
        await call("POST", "/metadata/profiles/extensions", PHONE, tenant)
        for level in ("services", "states", "tasks"):
            await call("POST", f"/metadata/{level}/extensions", FEEDBACK, tenant)
    await call("POST", "/server/mode", {"mode": "maintenance"})
    await call("POST", "/metadata/identification-keys",
               {"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"})
    await call("POST", "/server/mode", {"mode": "production"})

    wrote: dict[str, Any] = {}
    ann = (await call("POST", "/profiles", {"FirstName": "Ann", "LastName": "Old", "EmailAddress": "ann@example.com",
                                           "Phone": [{"PhoneNumber": "+33314592653", "PhoneType": 1}]}))["customer_id"]
    bob = (await call("POST", "/profiles", {"FirstName": "Bob"}, tenant=2))["customer_id"]
    wrote["profiles"] = {"ann": ann, "bob": bob}
    done = (await call("POST", "/services/start", {"service_type": 1, "customer_id": ann, "timestamp": TIME,
                                                   "Feedback": {"rating": 4}}))["service_id"]
    first = (await call("POST", f"/services/{done}/states/start", {"state_type": 1, "timestamp": TIME}))["state_id"]
    task = (await call("POST", f"/services/{done}/tasks/start", {"task_type": 1, "state_id": first,
                                                                  "timestamp": TIME}))["task_id"]
    await call("POST", f"/services/{done}/tasks/{task}/end", {"timestamp": TIME})
    await call("POST", f"/services/{done}/states/{first}/end", {"timestamp": TIME})
    await call("POST", f"/services/{done}/end", {"timestamp": TIME, "disposition": 1})
    active = (await call("POST", "/services/start", {"service_type": 2, "customer_id": ann,
                                                     "timestamp": TIME}))["service_id"]
    state = (await call("POST", f"/services/{active}/states/start", {"state_type": 2, "timestamp": TIME,
                                                                      "Feedback": {"rating": 5}}))["state_id"]
    active_task = (await call("POST", f"/services/{active}/tasks/start", {"task_type": 2, "state_id": state,
                                                                          "timestamp": TIME}))["task_id"]
    anonymous = (await call("POST", "/services/start", {"service_type": 3, "contact_key": "+15550100",
                                                        "timestamp": TIME}))["service_id"]
    other = (await call("POST", "/services/start", {"service_type": 1, "customer_id": bob, "timestamp": TIME},
                        tenant=2))["service_id"]
    wrote["services"] = {"done": done, "active": active, "anonymous": anonymous, "tenant2": other}
    wrote["states"] = {"done": first, "active": state}
    wrote["tasks"] = {"done": task, "active": active_task}
    await call("POST", "/interactions", {"customer_id": ann, "service_id": active, "entity_type": 2,
                                         "media_type": "chat", "status": 3, "type": "Inbound", "creator_app_id": 175,
                                         "interaction_id": "old-chat-1", "start_date": TIME, "text": "hello"})
    # The newest service, state and task ids go with a deleted profile: they must never be given again.
    gone = (await call("POST", "/profiles", {"FirstName": "Gone"}))["customer_id"]
    doomed = (await call("POST", "/services/start", {"service_type": 1, "customer_id": gone}))["service_id"]
    doomed_state = (await call("POST", f"/services/{doomed}/states/start", {"state_type": 1}))["state_id"]
    doomed_task = (await call("POST", f"/services/{doomed}/tasks/start", {"task_type": 1}))["task_id"]
    await call("DELETE", f"/profiles/{gone}")
    await call("GET", f"/services/{doomed}", ok=(404,))
    wrote["highest"] = {"service": doomed, "state": doomed_state, "task": doomed_task}
    return wrote


def _dump(backend: str, url: str, path: Path | None) -> str:
    if backend == "sqlite":
        assert path is not None
        with sqlite3.connect(path) as conn:
            return "\n".join(conn.iterdump())
    done = subprocess.run(["pg_dump", "--inserts", "--no-owner", "--no-privileges", "--no-comments", url],
                          capture_output=True, text=True, check=True)
    # Without psql's meta-commands (\restrict...), so that any client can run it.
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


async def main(backend: str) -> dict[str, Any]:
    path: Path | None = None
    name = ""
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp()) / "release.db"
        url = f"sqlite:///{path}"
    else:
        name = f"ucs_release_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    try:
        await upgrade(url)
        settings = load_settings({"database_url": url, "access_log": False, "allowed_hosts": ["testserver"]},
                                 environ={})
        rt = create_runtime(settings)
        watcher = await start_runtime(rt)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, rt)),
                                         base_url="http://testserver") as client:
                wrote = await _write(client)
        finally:
            await stop_runtime(rt, watcher)
        revision = await current_revision(url)
        sql = _dump(backend, url, path)
    finally:
        if name:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.close()
    return {"revision": revision, "wrote": wrote, "sql": sql}


if __name__ == "__main__":
    out = Path(sys.argv[2])
    release = asyncio.run(main(sys.argv[1]))
    out.write_text(json.dumps(release, indent=1) + "\n")
    print(f"{out}: revision {release['revision']}, {len(release['sql'])} characters of SQL")
