"""Bulk Profile Import (CV.WS.PROF.IMPORT.1): a multipart `description` part, and optionally the file as a
`profiles` part (spooled to disk by the form parser, never held in memory)."""

from __future__ import annotations

import io
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from rest_compat.call import Call, reply
from ucs_graphql.access.gate import Gate
from ucs_graphql.imports import service
from ucs_graphql.imports.service import Authorize, Upload
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import MalformedRequest, MissingParameter, UnsupportedMediaType

DESCRIPTION = "description"
PROFILES = "profiles"
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


def _upload(value: Any) -> Upload:
    if isinstance(value, UploadFile):
        return Upload(value.file, value.filename)
    return Upload(io.BytesIO(str(value).encode("utf-8")), None)


async def import_profiles(call: Call) -> Response:
    media = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORMS:
        raise UnsupportedMediaType(f"Content-Type '{media}' is not supported: send multipart/form-data with a "
                                   "part named 'description'")
    try:
        async with call.request.form(max_files=2, max_fields=4) as form:
            raw = form.get(DESCRIPTION)
            if raw is None:
                raise MissingParameter(DESCRIPTION, "the request needs a part named 'description' holding the JSON")
            text = await raw.read() if isinstance(raw, UploadFile) else raw
            upload = _upload(form[PROFILES]) if PROFILES in form else None
            report = await service.import_profiles(call.ctx, jsonio.loads(text), upload, authorize=_authorize(call))
    except HTTPException as err:
        raise MalformedRequest(f"the multipart body cannot be read: {err.detail}") from err
    return reply(report.to_wire())
