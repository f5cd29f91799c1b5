"""Interaction operations: ingest (X.IXN.CREATE) and queries with their content (CV.WS.IXN.2)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from rest_compat.call import Call, reply
from ucs_graphql.interactions import service
from ucs_graphql.interactions.model import Upload
from ucs_graphql.interactions.wire import to_wire
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import MalformedRequest, MissingParameter
from ucs_graphql.web.pageheaders import content_headers

JSON_PART = "interaction"


async def _multipart(call: Call) -> tuple[Any, dict[str, Upload]]:
    """The `interaction` JSON part and the content parts of a multipart/form-data body."""
    limit = call.ctx.settings.max_body_bytes
    body: Any = None
    uploads: dict[str, Upload] = {}
    try:
        async with call.request.form(max_files=8, max_fields=8, max_part_size=limit) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    upload = Upload(data, value.content_type, is_file=True)
                else:
                    upload = Upload(value.encode("utf-8"), None, is_file=False)
                if name == JSON_PART:
                    body = jsonio.loads(upload.data)
                else:
                    uploads[name] = upload
    except HTTPException as err:
        raise MalformedRequest(f"the multipart body cannot be read: {err.detail}") from err
    if body is None:
        raise MissingParameter(JSON_PART, "a multipart body needs a part named 'interaction' holding the JSON")
    return body, uploads


async def create_interaction(call: Call) -> Response:
    ctype = call.request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/form-data"):
        body, uploads = await _multipart(call)
    else:
        body, uploads = await call.json(), {}
    interaction_id = await service.create_interaction(call.ctx, body, uploads)
    return reply({"interaction_id": interaction_id}, 201, location=call.location(f"/interactions/{interaction_id}"))


async def get_interaction(call: Call) -> Response:
    return reply(to_wire(await service.get_interaction(call.ctx, call.path("id")), call.base_url()))


async def customer_interactions(call: Call) -> Response:
    found = await service.customer_interactions(call.ctx, call.path("id"))
    return reply([to_wire(i, call.base_url()) for i in found])


async def service_interactions(call: Call) -> Response:
    found = await service.service_interactions(call.ctx, call.path("id"))
    return reply([to_wire(i, call.base_url()) for i in found])


def _content(part: str):  # type: ignore[no-untyped-def]
    # Bytes and MIME type come from a client: sandboxed, never sniffed, binary content as a download
    # (ucs_graphql.web.pageheaders).
    headers = content_headers(download=part == "binary_content")

    async def handler(call: Call) -> Response:
        content = await service.interaction_content(call.ctx, call.path("id"), part)
        return Response(content.data, media_type=content.mime, headers=headers)

    handler.__name__ = f"get_{part}"
    return handler


plain_text = _content("plain_text")
structured_text = _content("structured_text")
binary_content = _content("binary_content")

_STR = {"type": "string"}
_INT = {"type": "integer"}
_DT = {"type": "string", "description": "YYYY-MM-DDTHH:mm:ss.SSSZ"}
_ADDRESS = {"$ref": "#/components/schemas/EmailAddress"}
_ADDRESSES = {"type": "array", "items": _ADDRESS}

COMPONENTS: dict[str, Any] = {
    "EmailAddress": {"type": "object", "required": ["address"], "properties": {"address": _STR, "personal": _STR}},
    "Interaction": {
        "type": "object",
        "description": "Common fields plus those of the entity_type (0 e-mail in, 1 e-mail out, 2 chat, "
                       "3 phone call, 5 callback, 6 cobrowse, 7 open media). On ingest, text and structured_text "
                       "carry the content and binary_content its base64; in responses they are URLs. "
                       "Multipart ingest: a part 'interaction' (this JSON) and parts 'text', 'structured_text', "
                       "'binary_content'.",
        "required": ["customer_id", "status", "entity_type", "type", "media_type", "creator_app_id",
                     "start_date"],
        "properties": {
            "interaction_id": _STR, "customer_id": {"type": "string", "maxLength": 16},
            "service_id": _INT, "status": {"type": "integer", "enum": [0, 1, 2, 3]},
            "entity_type": {"type": "integer", "enum": [0, 1, 2, 3, 5, 6, 7]},
            "type": _STR, "sub_type": _STR, "media_type": _STR, "parent_id": _STR, "thread_id": _STR,
            "external_id": _STR, "owner_id": _INT, "creator_app_id": _INT, "start_date": _DT, "end_date": _DT,
            "timeshift": _INT, "category_id": _STR, "allow_children": {"type": "boolean"}, "subject": _STR,
            "stopped_reason": _STR, "text": _STR, "structured_text": _STR, "structured_text_mime": _STR,
            "binary_content": _STR, "binary_content_mime": _STR, "binary_content_size": _INT,
            "udata": {"type": "object", "additionalProperties": True},
            "from": _ADDRESS, "reply_to": _ADDRESS, "to": _ADDRESSES, "cc": _ADDRESSES, "bcc": _ADDRESSES,
            "sent_date": _DT, "reference_id": _INT, "reviewer_id": _INT, "standard_response_id": _STR,
            "established_date": _DT, "released_date": _DT,
            "duration": _INT, "outcome": _STR, "phone_number": _STR, "tconnection_id": _STR,
            "callback_status": {"type": "integer", "minimum": 0, "maximum": 14},
            "desired_response_type": {"type": "string", "enum": ["Voice", "VoIP", "Email"]},
            "start_time": _DT, "end_time": _DT, "customer_number": _STR, "attempts": _INT, "dn": _STR,
            "location": _STR, "callback_server_id": _STR,
            "call_result": {"type": "integer", "minimum": 0, "maximum": 53},
            "callback_type": {"type": "integer", "enum": [0, 1, 2]},
        },
    },
    "InteractionList": {"type": "array", "items": {"$ref": "#/components/schemas/Interaction"}},
    "InteractionId": {"type": "object", "required": ["interaction_id"], "properties": {"interaction_id": _STR}},
}
