"""Bulk Profile Import (CV.WS.PROF.IMPORT.1): a multipart `description` part, and optionally the file as a
`profiles` part (spooled to disk, never held in memory).

Every check that does not need the body answers before any of it is read (mode, tasks), and the description
is checked before the file is stored: a refused import costs the server its headers and description only.
A client that sends `Expect: 100-continue`, as the reference's example does, gets the refusal before it
sends the body."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from rest_compat.call import Call, reply
from rest_compat.import_form import read_import_body
from ucs_graphql.access.gate import Gate
from ucs_graphql.imports import service
from ucs_graphql.imports.service import Authorize, Prepared, Upload
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import UnsupportedMediaType

FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

_ENTRY = {"type": "object", "required": ["index", "reason"],
          "properties": {"index": {"type": "integer"}, "reason": {"type": "string"}}}
COMPONENTS: dict[str, Any] = {
    "ImportDescription": {
        "type": "object", "required": ["format"],
        "description": "multipart/form-data: this JSON in a part named 'description'; the CSV either on the "
                       "server (path 'profiles' inside the import directory) or uploaded as a part named "
                       "'profiles'.",
        "properties": {
            "format": {"type": "string", "enum": ["csv"]},
            "profiles": {"type": "string"}, "id-key": {"type": "string"},
            "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
            "batch-size": {"type": "integer", "minimum": 1, "default": 64},
            "max-errors": {"type": "integer", "minimum": 0},
            "encoding": {"type": "string", "default": "UTF-8"},
            "start-from-index": {"type": "integer", "minimum": 0, "default": 0},
            "create-log": {"type": "boolean", "default": False}}},
    "ImportResult": {
        "type": "object", "required": ["errors", "ambiguous"],
        "properties": {
            "errors": {"type": "array", "items": _ENTRY}, "ambiguous": {"type": "array", "items": _ENTRY},
            "imported": {"type": "integer"}, "skipped": {"type": "integer"},
            "next-index": {"type": "integer", "description": "start-from-index that resumes this import"},
            "complete": {"type": "boolean"}, "log": {"type": "string"}}},
}


def _authorize(call: Call) -> Authorize | None:
    """The REST door's check of the further tasks an import needs (none when the server runs open)."""
    gate = call.ctx.rt.parts.get("gate")
    if not isinstance(gate, Gate) or gate.open:
        return None

    def check(task: str) -> None:
        gate.require(call.request, task, "import profiles")

    return check


async def import_profiles(call: Call) -> Response:
    media = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORMS:
        raise UnsupportedMediaType(f"Content-Type '{media}' is not supported: send multipart/form-data with a "
                                   "part named 'description'")
    authorize = _authorize(call)
    service.admit(call.ctx, authorize)
    prepared: list[Prepared] = []

    async def check_description(raw: bytes) -> None:
        prepared.append(await service.check_description(call.ctx, jsonio.loads(raw)))

    def check_file(filename: str | None) -> None:
        prepared[0].check_upload(call.ctx, filename)

    body = await read_import_body(call.request, check_description, check_file)
    try:
        upload = Upload(body.file, body.filename) if body.file is not None else None
        report = await service.run(call.ctx, prepared[0], upload, authorize=authorize)
    finally:
        body.close()
    return reply(report.to_wire())
