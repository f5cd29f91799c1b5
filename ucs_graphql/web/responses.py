"""Responses and the one error renderer (the reference's error object), shared by every route."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ucs_graphql.access.gate import challenge
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import UcsError, Unavailable
from ucs_graphql.web.logging import loggable

log = logging.getLogger("ucs.errors")


class JsonResponse(Response):
    """JSON encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content)


def error_body(kind: str, description: str, method: str, uri: str) -> dict[str, Any]:
    """The reference's error object for a kind of error."""
    row = row_for(kind)
    return {"http_method": method, "title": row.title, "description": description, "code": row.code, "uri": uri}


def error_response(
    kind: str, description: str, method: str, uri: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    """An error response: the table's status and the error object."""
    row = row_for(kind)
    return JsonResponse(error_body(kind, description, method, uri), status_code=row.status, headers=headers)


def render_error(request: Request, exc: Exception) -> JsonResponse:
    """Render any exception; unexpected ones are logged with their traceback and never shown."""
    if isinstance(exc, UcsError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
        if exc.kind == "unauthenticated":
            headers = {"WWW-Authenticate": challenge(request.headers.get("x-requested-with"))}
        return error_response(exc.kind, exc.description, request.method, str(request.url), headers)
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=loggable(exc))
    return error_response(
        "internal", "an unexpected error occurred; the server log has the details", request.method,
        str(request.url),
    )
