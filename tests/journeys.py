"""Helpers for the services, states and tasks tests: extension schemas and short-hand calls."""

from __future__ import annotations

from typing import Any

import httpx

SERVICE_EXTENSIONS = [
    {"name": "relatedOffers", "type": "multi-valued", "unique": ["offer_name"], "attributes": [
        {"name": "offer_name", "type": "string", "mandatory": True}, {"name": "type", "type": "integer"},
        {"name": "comments", "type": "string"}]},
    {"name": "Feedback", "type": "single-valued", "attributes": [
        {"name": "FeedbackType", "type": "string"}, {"name": "rating", "type": "integer"},
        {"name": "notes", "type": "string"}]},
]
STATE_EXTENSIONS = [
    {"name": "Satisfaction", "type": "multi-valued", "unique": ["place"], "attributes": [
        {"name": "rating", "type": "integer"}, {"name": "pertinence", "type": "integer"},
        {"name": "usefull", "type": "boolean"}, {"name": "place", "type": "string"}]},
    {"name": "Feedback", "type": "single-valued", "attributes": [
        {"name": "FeedbackType", "type": "string"}, {"name": "rating", "type": "integer"},
        {"name": "notes", "type": "string"}]},
]
TASK_EXTENSIONS = [
    {"name": "Survey", "type": "single-valued", "attributes": [
        {"name": "url", "type": "string"}, {"name": "question1", "type": "integer"},
        {"name": "question2", "type": "boolean"}]},
    {"name": "Proposal", "type": "multi-valued", "unique": ["car_type"], "attributes": [
        {"name": "car_type", "type": "string"}, {"name": "price", "type": "integer"},
        {"name": "seats", "type": "integer"}]},
]


async def define_extensions(client: httpx.AsyncClient) -> None:
    """Create the service, state and task extension schemas the tests use."""
    for level, docs in (("services", SERVICE_EXTENSIONS), ("states", STATE_EXTENSIONS), ("tasks", TASK_EXTENSIONS)):
        resp = await client.post(f"/metadata/{level}/extensions", json=docs)
        assert resp.status_code == 201, resp.text


async def start_service(client: httpx.AsyncClient, **body: Any) -> int:
    """Start a service (service_type 100 and contact key "ck" unless given); returns its id."""
    doc = {"service_type": 100, **body}
    if "customer_id" not in doc and "contact_key" not in doc:
        doc["contact_key"] = "ck"
    resp = await client.post("/services/start", json=doc)
    assert resp.status_code == 201, resp.text
    return int(resp.json()["service_id"])


async def start_state(client: httpx.AsyncClient, service_id: int, **body: Any) -> int:
    """Start a state (state_type 8 unless given); returns its id."""
    resp = await client.post(f"/services/{service_id}/states/start", json={"state_type": 8, **body})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["state_id"])


async def start_task(client: httpx.AsyncClient, service_id: int, **body: Any) -> int:
    """Start a task (task_type 55 unless given); returns its id."""
    resp = await client.post(f"/services/{service_id}/tasks/start", json={"task_type": 55, **body})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["task_id"])
