"""Schemas and helpers shared by the profile, identification, merge and encryption tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from tests.helpers import set_mode

PHONE = {
    "name": "Phone", "type": "multi-valued",
    "attributes": [
        {"name": "PhoneType", "type": "integer", "default": 0},
        {"name": "prefix", "type": "string", "length": 5},
        {"name": "PhoneNumber", "type": "string", "length": 20, "mandatory": True},
        {"name": "description", "type": "string"},
        {"name": "start_availability", "type": "datetime"},
        {"name": "end_availability", "type": "datetime"},
    ],
    "unique": ["PhoneNumber"],
}
ADDRESS = {
    "name": "Address", "type": "single-valued",
    "attributes": [
        {"name": "Type", "type": "integer", "default": 0},
        {"name": "Address", "type": "string"},
        {"name": "City", "type": "string", "length": 32, "mandatory": True},
        {"name": "Score", "type": "double"},
        {"name": "Verified", "type": "boolean"},
        {"name": "Since", "type": "date"},
    ],
}
NOTES = {"name": "Notes", "type": "multi-valued", "attributes": [{"name": "text", "type": "string"}]}
VIP = {"name": "VIP", "type": "classifier"}

BRUCE = {
    "FirstName": "Bruce",
    "LastName": "Banner",
    "EmailAddress": ["bruce.banner@marvelous.com", "b.banner@hulk.dom"],
    "Phone": [
        {"PhoneType": 0, "prefix": "+33", "PhoneNumber": "3145926535", "description": "family phone",
         "start_availability": "2009-12-18T18:30:00.000Z", "end_availability": "2009-12-18T21:40:00Z"},
        {"PhoneType": 2, "prefix": "+33", "PhoneNumber": "6543210", "description": "business calls only"},
    ],
}


async def define(client: httpx.AsyncClient, *schemas: dict[str, Any], attributes: list[dict[str, Any]] | None = None,
                 keys: list[dict[str, Any]] | None = None) -> None:
    """Create extension schemas, then (in maintenance mode) profile attributes and keys; back to production."""
    for schema in schemas:
        resp = await client.post("/metadata/profiles/extensions", json=schema)
        assert resp.status_code == 201, resp.text
    if attributes or keys:
        await set_mode(client, "maintenance")
        if attributes:
            resp = await client.post("/metadata/profiles", json=attributes)
            assert resp.status_code == 201, resp.text
        for key in keys or []:
            resp = await client.post("/metadata/identification-keys", json=key)
            assert resp.status_code == 201, resp.text
        await set_mode(client, "production")


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """POST /profiles and return the customer id."""
    resp = await client.post("/profiles", json=body)
    assert resp.status_code == 201, resp.text
    customer_id: str = resp.json()["customer_id"]
    return customer_id


def count_statements(client: httpx.AsyncClient) -> list[str]:
    """A list that collects every SQL statement the client's app runs from now on (both engines)."""
    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    for engine in runtime.db.engines():
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    return seen


def data_statements(seen: list[str]) -> int:
    """How many of the statements touched profile data (the mode watcher's polling is left out)."""
    # The watcher's acknowledgements open their own write transaction (BEGIN IMMEDIATE on SQLite): not profile data.
    return len([s for s in seen if "server_state" not in s and "server_worker" not in s
                and not s.strip().startswith("BEGIN")])
