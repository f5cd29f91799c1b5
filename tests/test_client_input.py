"""Client input that once reached the database or the JSON decoder and came back as a 500: ids beyond the
reference's ranges, invalid UTF-8, deeply nested JSON, lone surrogates. Each is the client's error (4xx, or a
GraphQL error with a client code), and nothing of it reaches the log as an SQL parameter."""

from __future__ import annotations

import io
import logging

import pytest

from tests.helpers import assert_error, gql

OVER_64 = 2**63  # 9223372036854775808: one above the largest service id
OVER_32 = 2**31  # one above the largest state or task id
HUGE = 10**30


def _no_sql_in(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text
    for marker in ("[parameters:", "[SQL:", "\\ud800", "\ud800"):
        assert marker not in text, text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("path, what", [
    (f"/services/{OVER_64}", f"service {OVER_64} does not exist"),
    (f"/services/{HUGE}", f"service {HUGE} does not exist"),
    (f"/services/{OVER_64}/states", f"service {OVER_64} does not exist"),
    (f"/services/{OVER_64}/states/1", f"service {OVER_64} does not exist"),
    (f"/services/1/states/{OVER_32}", f"state {OVER_32} of service 1 does not exist"),
    (f"/services/1/tasks/{OVER_32}", f"task {OVER_32} of service 1 does not exist"),
    (f"/services/1/task/{HUGE}", f"task {HUGE} of service 1 does not exist"),
    (f"/services/{OVER_64}/interactions", f"service {OVER_64} does not exist"),
])
async def test_ids_beyond_their_range_in_a_path_are_not_found(client, caplog, path, what):
    with caplog.at_level(logging.INFO):
        assert_error(await client.get(path), 404, 4040, what)
    _no_sql_in(caplog)


async def test_ids_beyond_their_range_in_writes_are_not_found(client, caplog):
    with caplog.at_level(logging.INFO):
        assert_error(await client.post(f"/customers/C1/services/{OVER_64}", json={}), 404, 4040)
        assert_error(await client.post(f"/services/{OVER_64}/end", json={}), 404, 4040)
        assert_error(await client.post(f"/services/{OVER_64}/states/start", json={"state_type": 1}), 404, 4040)
        assert_error(await client.post(f"/services/1/states/{OVER_32}/end", json={}), 404, 4040)
        assert_error(await client.post(f"/services/1/tasks/{OVER_32}/end", json={}), 404, 4040)
    _no_sql_in(caplog)


async def test_the_largest_ids_are_looked_up_as_any_other(client):
    assert_error(await client.get(f"/services/{OVER_64 - 1}"), 404, 4040, "does not exist")
    assert_error(await client.get(f"/services/1/states/{OVER_32 - 1}"), 404, 4040, "does not exist")


async def test_an_out_of_range_query_parameter_id_is_a_bad_parameter(client, caplog):
    with caplog.at_level(logging.INFO):
        resp = await client.get(f"/services/1/tasks?state_id={OVER_32}")
    assert resp.status_code in (400, 404), resp.text
    _no_sql_in(caplog)


@pytest.mark.parametrize("document, variables", [
    (f"{{ service(serviceId: {OVER_64}) {{ serviceId }} }}", None),
    ("query($id: Long!) { service(serviceId: $id) { serviceId } }", {"id": OVER_64}),
    ("query($id: Long!) { service(serviceId: $id) { serviceId } }", {"id": str(OVER_64)}),
    (f"{{ states(serviceId: {HUGE}) {{ stateId }} }}", None),
    (f'mutation {{ associateService(customerId: "C1", serviceId: {OVER_64}) {{ serviceId }} }}', None),
])
async def test_a_long_beyond_64_bits_is_a_bad_parameter(client, caplog, document, variables):
    with caplog.at_level(logging.INFO):
        body = await gql(client, document, variables)
    assert body["errors"][0]["extensions"]["code"] == "BAD_PARAMETER", body
    assert "64-bit" in body["errors"][0]["message"], body
    _no_sql_in(caplog)


async def test_an_int_beyond_32_bits_is_refused_by_graphql(client, caplog):
    with caplog.at_level(logging.INFO):
        body = await gql(client, "query($s: Int!) { state(serviceId: 1, stateId: $s) { stateId } }", {"s": OVER_32})
    assert body["errors"][0]["extensions"]["code"] == "BAD_PARAMETER", body
    _no_sql_in(caplog)


@pytest.mark.parametrize("raw, fragment", [
    (b'{"query": "{ serverStatus { mode } }", "x": "\xff\xfe"}', "JSON"),
    (b'{"query": "{ serverStatus { mode } }", "variables": ' + b"[" * 2000 + b"]" * 2000 + b"}", "JSON"),
    (b"[" * 100_000, "JSON"),
    (b'{"query": "query($id: String!) { profile(customerId: $id) { customerId } }", '
     b'"variables": {"id": "\\ud800"}}', "JSON"),
    (b'{"query": "query($id: String!) { profile(customerId: $id) { customerId } }", '
     b'"variables": {"id": "a\\udc00b"}}', "JSON"),
])
async def test_undecodable_graphql_bodies_are_bad_requests(client, caplog, raw, fragment):
    with caplog.at_level(logging.INFO):
        resp = await client.post("/graphql", content=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST" and fragment in body["errors"][0]["message"]
    assert resp.headers["x-request-id"]
    _no_sql_in(caplog)


async def test_lone_surrogates_in_get_variables_are_bad_requests(client, caplog):
    params = {"query": "query($id: String!) { profile(customerId: $id) { customerId } }",
              "variables": '{"id": "\\ud800"}'}
    with caplog.at_level(logging.INFO):
        resp = await client.get("/graphql", params=params)
    assert 400 <= resp.status_code < 500, resp.text
    _no_sql_in(caplog)


async def test_lone_surrogates_in_a_graphql_document_are_refused(client, caplog):
    with caplog.at_level(logging.INFO):
        body = (await client.post("/graphql", json={
            "query": '{ profile(customerId: "\\ud800") { customerId } }'})).json()
    assert body["errors"][0]["extensions"]["code"] in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
                                                        "BAD_PARAMETER", "BAD_REQUEST"), body
    _no_sql_in(caplog)


@pytest.mark.parametrize("raw", [
    b'{"FirstName": "\xff"}',
    b'{"FirstName": "\\ud800"}',
    b'{"FirstName": ' + b"[" * 2000 + b"]" * 2000 + b"}",
])
async def test_undecodable_rest_bodies_are_bad_requests(client, caplog, raw):
    with caplog.at_level(logging.INFO):
        resp = await client.post("/profiles", content=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 400, 4000, "invalid JSON")
    _no_sql_in(caplog)


SECRET = "SECRET-4711"


@pytest.fixture
def failing_statement(monkeypatch, backend):
    """GET /services/{id} and GraphQL service(...) run a statement that the driver refuses with a value the
    client could have sent: an unexpected error whose text would carry the value."""
    from sqlalchemy import text

    from ucs_graphql.journeys import service as journeys

    # asyncpg refuses a string for an integer parameter and quotes it; sqlite3 refuses a dict.
    value: object = SECRET if backend == "postgres" else {"v": SECRET}

    async def get_service(ctx, service_id, include):
        async with ctx.db.read() as conn:
            await conn.execute(text("SELECT CAST(:v AS INTEGER) + 1"), {"v": value})

    monkeypatch.setattr(journeys, "get_service", get_service)


async def test_an_unexpected_error_is_a_500_with_its_request_id_logged_once_without_values(
        client, caplog, failing_statement):
    import httpx

    app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)  # raises what the app raises: the 500 must not be raised again
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        with caplog.at_level(logging.INFO):
            resp = await raw.get("/services/1", headers={"X-Request-Id": "rid-db-500"})
    assert_error(resp, 500, 5000)
    assert resp.headers["x-request-id"] == "rid-db-500"
    assert SECRET not in resp.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "DatabaseFault" in caplog.text and "SELECT CAST" in caplog.text  # what failed is still said
    assert SECRET not in caplog.text and "[parameters:" not in caplog.text, caplog.text


@pytest.mark.parametrize("fmt", ["ucs", "json"])
async def test_log_formats_leave_out_the_values_of_a_failed_statement(client, failing_statement, fmt):
    from ucs_graphql.web.logging import make_handler

    stream = io.StringIO()
    handler = make_handler(fmt, stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        resp = await client.get("/services/1")
        body = await gql(client, "{ service(serviceId: 1) { serviceId } }")
    finally:
        root.removeHandler(handler)
    assert resp.status_code == 500 and body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    logged = stream.getvalue()
    assert logged.count("DatabaseFault") >= 2, logged
    assert SECRET not in logged and "[parameters:" not in logged, logged
