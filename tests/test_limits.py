"""Abuse limits, each configurable: body size (413), GraphQL depth, aliases, tokens and introspection,
and the per-user request rate (503 with Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tests import helpers
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.ratelimit import RateLimiter
from ucs_graphql.config import Settings

from .helpers import assert_error, error_code, gql

SCHEMA = b'{"name": "Loyalty", "type": "single-valued", "attributes": [{"name": "level", "type": "integer"}]}'
_HASH = hash_secret("pw", ln=4)
USERS = f"""
[[roles]]
name = "all"
tasks = ["UCS.SystemMgt.readServerInfo", "UCS.SchemaMgt.handleMetadata"]
[[users]]
name = "ann"
password_hash = "{_HASH}"
roles = ["all"]
[[users]]
name = "bob"
password_hash = "{_HASH}"
roles = ["all"]
"""


def basic(user: str) -> dict[str, str]:
    """HTTP Basic for a user of USERS."""
    return helpers.basic(user, "pw")


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """A body sent chunked (no Content-Length)."""
    for part in parts:
        yield part


# --- body size ---

async def test_body_over_the_limit_is_413_by_content_length(make_client):
    client = await make_client(max_body_bytes=len(SCHEMA) - 1)
    resp = await client.post("/metadata/profiles/extensions", content=SCHEMA,
                             headers={"content-type": "application/json"})
    assert_error(resp, 413, 4130, f"larger than {len(SCHEMA) - 1} bytes")
    resp = await client.post("/graphql", content=b'{"query": "{ serverStatus { mode } }"}' + b" " * len(SCHEMA),
                             headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_chunked_body_over_the_limit_is_413(make_client):
    client = await make_client(max_body_bytes=len(SCHEMA) - 1)
    resp = await client.post("/metadata/profiles/extensions", content=chunks(SCHEMA[:20], SCHEMA[20:]),
                             headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert_error(resp, 413, 4130)
    resp = await client.post("/graphql", content=chunks(b'{"query": "{ serverStatus { mode } }"', b" " * 200, b"}"),
                             headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert (await client.get("/metadata/profiles/extensions/loyalty")).status_code == 404  # nothing was created


async def test_chunked_body_within_the_limit_is_served(make_client):
    client = await make_client(max_body_bytes=len(SCHEMA))
    resp = await client.post("/metadata/profiles/extensions", content=chunks(SCHEMA[:20], SCHEMA[20:]),
                             headers={"content-type": "application/json"})
    assert resp.status_code == 201, resp.text


# --- GraphQL ---

async def test_graphql_depth_limit(make_client):
    client = await make_client(graphql_max_depth=1)
    deep = "{ extensionSchemas(level: PROFILE) { attributes { name } } }"
    body = await gql(client, deep)
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "depth" in body["errors"][0]["message"]
    assert "errors" not in await gql(client, "{ extensionSchemas(level: PROFILE) { name } }")


async def test_graphql_alias_limit(make_client):
    client = await make_client(graphql_max_aliases=2)
    body = await gql(client, "{ a: serverStatus { mode } b: serverStatus { mode } c: serverStatus { mode } }")
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "aliases" in body["errors"][0]["message"]
    assert "errors" not in await gql(client, "{ a: serverStatus { mode } b: serverStatus { mode } }")


async def test_graphql_token_limit(make_client):
    client = await make_client(graphql_max_tokens=8)
    body = await gql(client, "{ serverStatus { mode version started requestToday usedMemory freeMemory } }")
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "token" in body["errors"][0]["message"].lower()
    assert "errors" not in await gql(client, "{ serverStatus { mode } }")


async def test_graphql_introspection_can_be_switched_off(make_client):
    client = await make_client(graphql_introspection=False)
    body = await gql(client, "{ __schema { queryType { name } } }")
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED" and "introspection" in body["errors"][0]["message"].lower()
    assert "errors" not in await gql(client, "{ serverStatus { mode } }")


def test_defaults_are_safe_and_documented():
    s = Settings()
    assert (s.graphql_introspection, s.graphql_max_depth, s.graphql_max_aliases, s.graphql_max_tokens) == (
        True, 12, 30, 5000)
    assert s.max_body_bytes == 16 * 1024 * 1024 and s.rate_limit_per_minute == 0


# --- request rate ---

async def test_rate_limit_counts_per_user_and_answers_503_with_retry_after(make_client):
    client = await make_client(config_text=USERS, rate_limit_per_minute=3)
    for _ in range(3):
        assert (await client.get("/server/status", headers=basic("ann"))).status_code == 200
    resp = await client.get("/server/status", headers=basic("ann"))
    assert_error(resp, 503, 5030, "user 'ann'")
    assert int(resp.headers["retry-after"]) >= 1
    resp = await client.post("/graphql", json={"query": "{ serverStatus { mode } }"}, headers=basic("ann"))
    assert resp.status_code == 503 and resp.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "retry-after" in resp.headers
    # Another user behind the same address is not throttled (an IVR sends everyone's calls from one host).
    assert (await client.get("/server/status", headers=basic("bob"))).status_code == 200


async def test_rate_limit_is_off_by_default(make_client):
    client = await make_client(config_text=USERS)
    statuses = {(await client.get("/server/status", headers=basic("ann"))).status_code for _ in range(50)}
    assert statuses == {200}


async def test_open_server_rate_limit_counts_per_client(make_client):
    client = await make_client(rate_limit_per_minute=2)
    assert [(await client.get("/server/status")).status_code for _ in range(3)] == [200, 200, 503]


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one request per second, bursts of 60
    assert all(limiter.take("a") == 0 for _ in range(60))
    assert limiter.take("a") == 1
    now[0] += 1.0
    assert limiter.take("a") == 0 and limiter.take("a") == 1
    assert limiter.take("b") == 0


def test_rate_limiter_forgets_idle_callers():
    now = [0.0]
    limiter = RateLimiter(10, clock=lambda: now[0], max_keys=3)
    for key in "abcd":
        limiter.take(key)
    now[0] += 120
    limiter.take("e")
    assert len(limiter._buckets) <= 3
