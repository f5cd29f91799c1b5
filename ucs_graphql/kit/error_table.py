"""The one table from error kind to HTTP status, reference error code, title and GraphQL code.

Both front doors render errors from this table only; the codes are documented in docs/errors.md.
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorRow(NamedTuple):
    status: int
    code: int
    title: str
    graphql_code: str


ERROR_TABLE: dict[str, ErrorRow] = {
    "malformed_request": ErrorRow(400, 4000, "bad request", "BAD_REQUEST"),
    "over_limit": ErrorRow(400, 4001, "over limit", "LIMIT_EXCEEDED"),
    "bad_parameter": ErrorRow(400, 4020, "bad parameter", "BAD_PARAMETER"),
    "missing_parameter": ErrorRow(400, 4021, "missing parameter", "BAD_PARAMETER"),
    "reserved_word": ErrorRow(400, 4022, "bad parameter", "BAD_PARAMETER"),
    "unauthenticated": ErrorRow(401, 4010, "not authorized", "UNAUTHENTICATED"),
    "forbidden": ErrorRow(403, 4030, "forbidden", "FORBIDDEN"),
    "mode_forbidden": ErrorRow(403, 4031, "forbidden by server mode", "MODE_FORBIDDEN"),
    "not_found": ErrorRow(404, 4040, "not found", "NOT_FOUND"),
    "unknown_path": ErrorRow(404, 4041, "not found", "NOT_FOUND"),
    # Automatic persisted queries: a hash the server does not know; the client sends the text with it.
    "persisted_query_not_found": ErrorRow(200, 4042, "persisted query not found", "PERSISTED_QUERY_NOT_FOUND"),
    "method_not_allowed": ErrorRow(405, 4050, "method not allowed", "METHOD_NOT_ALLOWED"),
    "request_timeout": ErrorRow(408, 4080, "request timeout", "REQUEST_TIMEOUT"),
    "already_exists": ErrorRow(409, 4090, "already exists", "ALREADY_EXISTS"),
    "state_conflict": ErrorRow(409, 4091, "conflict", "STATE_CONFLICT"),
    "payload_too_large": ErrorRow(413, 4130, "payload too large", "PAYLOAD_TOO_LARGE"),
    "unsupported_media_type": ErrorRow(415, 4150, "unsupported media type", "UNSUPPORTED_MEDIA_TYPE"),
    "too_many_requests": ErrorRow(429, 4290, "too many requests", "TOO_MANY_REQUESTS"),
    "header_too_large": ErrorRow(431, 4310, "request header fields too large", "HEADER_TOO_LARGE"),
    "internal": ErrorRow(500, 5000, "internal server error", "INTERNAL_SERVER_ERROR"),
    "unreadable_value": ErrorRow(500, 5001, "stored value unreadable", "UNREADABLE_VALUE"),
    "unavailable": ErrorRow(503, 5030, "service unavailable", "SERVICE_UNAVAILABLE"),
}


def row_for(kind: str) -> ErrorRow:
    """The table row for an error kind (unknown kinds render as internal errors)."""
    return ERROR_TABLE.get(kind, ERROR_TABLE["internal"])
