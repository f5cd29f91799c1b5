"""CORS: none by default; the pages of cors_origins get their preflight answered (GraphQL and REST) and
Access-Control-Allow-Origin on every answer; anything else is refused."""

from __future__ import annotations

import pytest

from tests.test_clients_gql import TENANT2_CONFIG

PAGE = "https://console.example.com"
PREFLIGHT = {"origin": PAGE, "access-control-request-method": "POST",
             "access-control-request-headers": "content-type, authorization, x-genesys-tenantid"}
QUERY = {"query": "{ serverStatus { mode } }"}


@pytest.mark.parametrize("path", ["/graphql", "/server/status", "/profiles/search"])
async def test_a_preflight_from_an_allowed_origin_is_answered(make_client, path):
    client = await make_client(cors_origins=[PAGE], cors_max_age=120)
    r = await client.options(path, headers=PREFLIGHT)
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == PAGE and r.headers["vary"] == "Origin"
    assert {"GET", "POST", "PUT", "DELETE"} <= set(r.headers["access-control-allow-methods"].split(", "))
    allowed = set(r.headers["access-control-allow-headers"].split(", "))
    assert {"content-type", "authorization", "x-genesys-tenantid"} <= allowed
    assert r.headers["access-control-max-age"] == "120"


async def test_actual_answers_to_an_allowed_origin_carry_it(make_client):
    client = await make_client(cors_origins=[PAGE])
    r = await client.post("/graphql", json=QUERY, headers={"origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE
    assert r.headers["vary"] == "Origin" and "x-request-id" in r.headers["access-control-expose-headers"]
    r = await client.get("/server/status", headers={"origin": PAGE})
    assert r.headers["access-control-allow-origin"] == PAGE
    # Refusals too, so that the page can read them.
    r = await client.post("/graphql", content=b"{", headers={"origin": PAGE, "content-type": "application/json"})
    assert r.status_code == 400 and r.headers["access-control-allow-origin"] == PAGE
    # Not to clients without an Origin, nor to the server's own pages.
    assert "access-control-allow-origin" not in (await client.post("/graphql", json=QUERY)).headers
    own = await client.post("/graphql", json=QUERY, headers={"origin": "http://testserver"})
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers


async def test_no_origin_is_allowed_by_default(make_client):
    client = await make_client()
    r = await client.options("/graphql", headers=PREFLIGHT)
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "access-control-allow-origin" not in r.headers
    r = await client.post("/graphql", json=QUERY, headers={"origin": PAGE})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


async def test_a_preflight_for_another_origin_method_or_header_is_refused(make_client):
    client = await make_client(cors_origins=[PAGE], cors_methods=["GET", "POST"])
    other = await client.options("/graphql", headers={**PREFLIGHT, "origin": "https://evil.example.org"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    method = await client.options("/server/mode", headers={**PREFLIGHT, "access-control-request-method": "PUT"})
    assert method.status_code == 403 and "cors_methods" in method.json()["description"]
    header = await client.options("/graphql", headers={**PREFLIGHT, "access-control-request-headers": "x-secret"})
    assert header.status_code == 403 and "cors_headers" in header.json()["errors"][0]["message"]


async def test_an_options_request_that_is_not_a_preflight_is_405(make_client):
    client = await make_client(cors_origins=[PAGE])
    r = await client.options("/graphql")
    assert r.status_code == 405 and r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert (await client.options("/server/status")).status_code == 405


async def test_a_preflight_needs_no_credentials(make_client):
    client = await make_client(cors_origins=[PAGE], config_text=TENANT2_CONFIG)
    r = await client.options("/graphql", headers=PREFLIGHT)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == PAGE
    r = await client.post("/graphql", json=QUERY, headers={"origin": PAGE})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == PAGE


async def test_cors_settings_come_from_the_configuration_file(make_client):
    config = f"""
[server]
cors_origins = ["{PAGE}"]
cors_methods = ["POST"]
cors_headers = ["content-type"]
cors_max_age = 60
"""
    client = await make_client(config_text=config)
    r = await client.options("/graphql", headers={**PREFLIGHT, "access-control-request-headers": "content-type"})
    assert r.status_code == 204 and r.headers["access-control-allow-methods"] == "POST"
    assert r.headers["access-control-max-age"] == "60"
    assert (await client.options("/graphql", headers=PREFLIGHT)).status_code == 403


def test_cors_settings_are_checked():
    from ucs_graphql.config import ConfigError, Settings, validate

    for bad in ({"cors_methods": ("GE T",)}, {"cors_headers": ("a b",)}):
        with pytest.raises(ConfigError):
            validate(Settings(database_url="sqlite:///x.db", **bad))
