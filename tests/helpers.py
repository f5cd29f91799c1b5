"""Helpers for front-door tests: GraphQL calls, error-object assertions, mode switches."""

from __future__ import annotations

import base64
from typing import Any

import httpx


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST a GraphQL document and return the decoded response body."""
    resp = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def error_code(body: dict[str, Any]) -> str | None:
    """The extensions.code of the first GraphQL error (None when there is no error)."""
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def set_mode(client: httpx.AsyncClient, mode: str) -> None:
    """Switch the server mode through the REST path."""
    resp = await client.post("/server/mode", json={"mode": mode})
    assert resp.status_code == 200, resp.text


def assert_error(resp: httpx.Response, status: int, code: int | None = None, contains: str | None = None) -> None:
    """The response is the reference's error object with this status (and code, and text)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"http_method", "title", "description", "code", "uri"}, body
    if code is not None:
        assert body["code"] == code, body
    if contains is not None:
        assert contains in body["description"], body


def basic(user: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
