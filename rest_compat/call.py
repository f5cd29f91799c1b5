"""What a REST handler receives (request, context, parsed parts) and the replies it returns."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ucs_graphql.context import Ctx
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import BadParameter, MalformedRequest, UnsupportedMediaType
from ucs_graphql.web.middleware import read_body
from ucs_graphql.web.responses import JsonResponse

_NO_QUERY = QueryParams()


class Call:
    """One REST request: path parameters, query, body, and the Ctx for the use case."""

    def __init__(self, request: Request, ctx: Ctx) -> None:
        self.request = request
        self.ctx = ctx

    def path(self, name: str) -> Any:
        """A path parameter."""
        return self.request.path_params[name]

    @property
    def query(self) -> Any:
        if not self.request.scope.get("query_string"):
            return _NO_QUERY  # most requests have none: no parsing, no new object
        return self.request.query_params

    def flag(self, name: str, default: bool = False) -> bool:
        """A yes/no/true/false query flag (400 for another value)."""
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        low = raw.lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise BadParameter(name, f"'{raw}' is not true/false or yes/no")

    async def json(self, *, required: bool = True) -> Any:
        """The JSON body; 415 when a body comes without a JSON Content-Type, 400 when it is not JSON.

        A body without a Content-Type is refused as the reference says ("Content-Type is not set to a valid
        value"): a web page can send one to any server without asking it first, a JSON one it cannot.
        """
        ctype = self.request.headers.get("content-type", "")
        body = await self.body()
        if not body.strip():
            if required:
                raise MalformedRequest("the request needs a JSON body")
            return None
        media = ctype.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json") and media != "text/json":
            shown = f"Content-Type '{media}' is" if media else "a body without a Content-Type is"
            raise UnsupportedMediaType(f"{shown} not supported; send application/json")
        return jsonio.loads_request(body)

    async def body(self) -> bytes:
        """The request body, read as Starlette's `Request.body()` reads it (and kept there for later readers),
        without its async generator: the body of a REST call is one message."""
        request = self.request
        kept = getattr(request, "_body", None)
        if kept is not None:
            return kept
        if request._stream_consumed:
            return await request.body()  # Starlette's error
        body = await read_body(request.receive)
        if body is None:
            request._is_disconnected = True
            raise ClientDisconnect()
        request._stream_consumed = True
        request._body = body
        return body

    def base_url(self) -> str:
        """The absolute URL of the service root (with the configured base path)."""
        root = str(self.request.base_url).rstrip("/")
        return root + self.ctx.settings.base_path

    def location(self, path: str) -> str:
        """A Location value for a path of this API (relative to the base path, under the root path the app
        is mounted at)."""
        return self.request.scope.get("root_path", "") + self.ctx.settings.base_path + path


def reply(body: Any, status: int = 200, location: str | None = None) -> Response:
    """A JSON reply, with a Location header when given."""
    headers = {"Location": location} if location else None
    return JsonResponse(body, status_code=status, headers=headers)


def no_content(status: int = 204) -> Response:
    """An empty reply (204, or 200 with an empty body where the reference says so)."""
    return Response(status_code=status)
