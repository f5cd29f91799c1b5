"""Interaction resources of the reference: the common fields, the fields of each kind, their validation.

`parse_interaction` turns an ingest body (plus any uploaded content parts) into a `NewInteraction`, or
raises BadParameter / MissingParameter naming the field.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ucs_graphql.kit.errors import BadParameter, MissingParameter
from ucs_graphql.kit.timefmt import format_dt, parse_dt, to_millis

# entity_type → the reference's name for it.
ENTITY_TYPES: dict[int, str] = {
    0: "EMAIL_IN", 1: "EMAIL_OUT", 2: "CHAT", 3: "PHONE_CALL", 5: "CALLBACK", 6: "COBROWSE", 7: "INTERACTION",
}
STATUSES: dict[int, str] = {0: "NEW", 1: "PENDING", 2: "IN_PROCESS", 3: "STOPPED"}
CALLBACK_STATUSES: dict[int, str] = dict(enumerate((
    "UNKNOWN", "RECEIVED", "TIMER", "QUEUED", "DISTRIBUTED", "SUBMITTED_TO_AGT", "REJECTED_BY_AGT",
    "CANCELED_BY_AGT", "PROCESSED_BY_AGT", "FINAL", "NOT_QUEUED", "ERROR", "REPLACED", "AGT_TRANSFER",
    "ENDTIME_EXPIRED",
)))
CALL_RESULTS: dict[int, str] = dict(enumerate((
    "OK", "TRANSFERRED", "CONFERENCED", "GENERAL_ERROR", "SYSTEM_ERROR", "REMOTE_RELEASE", "BUSY", "NO_ANSWER",
    "SIT_DETECTED", "ANSWERING_MACHINE", "ALL_TRUNKS_BUSY", "SIT_INVALID_NUM", "SIT_VACANT",
    "SIT_OPER_INTERCEPT", "SIT_UNKNOWN", "SIT_NO_CIRCUIT", "SIT_REORDER", "SIT_FAX_DETECTED", "QUEUE_FULL",
    "CLEARED", "OVERFLOWED", "ABANDONED", "REDIRECTED", "FORWARDED", "CONSULT", "PICKEDUP", "DROPPED",
    "DROPPED_NO_ANSWER", "UNKNOWN", "COVERED", "CONVERSE_ON", "BRIDGED", "SILENCE", "ANSWER", "NU_TONE",
    "NO_DIAL_TONE", "NO_PROGRESS", "NO_RING_BACK", "NO_ESTABLISHED", "PAGER_DETECTED", "WRONG_PARTY",
    "DIAL_ERROR", "CALL_DROPPED_ERROR", "SWITCH_ERROR", "NO_FREE_PORT_ERROR", "TRANSFER_ERROR", "STALE",
    "AGT_CALLBACK_ERROR", "GRP_CALLBACK_ERROR", "DEAFENED", "HELD", "DO_NOT_CALL", "CANCEL_RECORD",
    "WRONG_NUMBER",
)))
CALLBACK_TYPES: dict[int, str] = {0: "UNKNOWN", 1: "ASAP", 2: "SCHEDULED"}
DESIRED_RESPONSE_TYPES = ("Voice", "VoIP", "Email")

# Content parts: the wire field that carries each on ingest, and the URL segment that serves it.
PLAIN_TEXT, STRUCTURED_TEXT, BINARY_CONTENT = "plain_text", "structured_text", "binary_content"
PART_FIELD = {PLAIN_TEXT: "text", STRUCTURED_TEXT: "structured_text", BINARY_CONTENT: "binary_content"}
PARTS = tuple(PART_FIELD)
CONTENT_FIELDS = frozenset(
    {"text", "structured_text", "structured_text_mime", "binary_content", "binary_content_mime",
     "binary_content_size"}
)

INTERACTION_ID_MAX = 64
CUSTOMER_ID_MAX = 16
_INTERACTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]*\Z")
_MIME = re.compile(r"[A-Za-z0-9][\w.+-]*/[\w.+-]+\s*(;.*)?\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")

Check = Callable[[str, Any], Any]


def _show(value: Any) -> str:
    return f"'{value}'" if not isinstance(value, (dict, list)) else "this value"


def _string(param: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadParameter(param, f"{_show(value)} is not a string")
    return value


def _integer(param: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadParameter(param, f"{_show(value)} is not an integer")
    return value


def _count(param: str, value: Any) -> int:
    number = _integer(param, value)
    if number < 0:
        raise BadParameter(param, f"'{number}' is negative")
    return number


def _boolean(param: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadParameter(param, f"{_show(value)} is not true or false")
    return value


def _datetime(param: str, value: Any) -> str:
    try:
        return format_dt(parse_dt(_string(param, value)))
    except ValueError as err:
        raise BadParameter(param, str(err)) from err


def _hash(param: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadParameter(param, "must be a JSON object of key-value pairs")
    return value


def _one_of(values: Mapping[int, str]) -> Check:
    listed = ", ".join(f"{k}-{v}" for k, v in values.items())

    def check(param: str, value: Any) -> int:
        number = _integer(param, value)
        if number not in values:
            raise BadParameter(param, f"'{number}' is not one of {listed}")
        return number

    return check


def _response_type(param: str, value: Any) -> str:
    text = _string(param, value)
    for known in DESIRED_RESPONSE_TYPES:
        if text.lower() == known.lower():
            return known
    raise BadParameter(param, f"'{text}' is not one of {', '.join(DESIRED_RESPONSE_TYPES)}")


def _email_address(param: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadParameter(param, 'must be an e-mail address object {"address": ..., "personal": ...}')
    unknown = sorted(set(value) - {"address", "personal"})
    if unknown:
        raise BadParameter(f"{param}.{unknown[0]}", "is not a field of an e-mail address (address, personal)")
    address = value.get("address")
    if address is None or address == "":
        raise MissingParameter(f"{param}.address")
    if not _EMAIL.match(_string(f"{param}.address", address)):
        raise BadParameter(f"{param}.address", f"'{address}' is not an e-mail address")
    out = {"address": address}
    if value.get("personal") is not None:
        out["personal"] = _string(f"{param}.personal", value["personal"])
    return out


def _email_addresses(param: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise BadParameter(param, "must be an array of e-mail address objects")
    return [_email_address(f"{param}[{i}]", item) for i, item in enumerate(value)]


def _customer_id(param: str, value: Any) -> str:
    text = _string(param, value)
    if len(text) > CUSTOMER_ID_MAX:
        raise BadParameter(param, f"'{text}' is longer than {CUSTOMER_ID_MAX} characters")
    return text


def _service_id(param: str, value: Any) -> int:
    number = _integer(param, value)
    if number < 1:
        raise BadParameter(param, f"'{number}' is not a service id")
    return number


def check_interaction_id(param: str, value: Any) -> str:
    """Validate an interaction id (letters, digits and `. _ : @ -`, at most 64 characters)."""
    text = _string(param, value)
    if len(text) > INTERACTION_ID_MAX:
        raise BadParameter(param, f"'{text}' is longer than {INTERACTION_ID_MAX} characters")
    if not _INTERACTION_ID.match(text):
        raise BadParameter(param, f"'{text}' may hold only letters, digits and . _ : @ -")
    return text


def _mime(param: str, value: Any) -> str:
    text = _string(param, value).strip()
    if not _MIME.match(text):
        raise BadParameter(param, f"'{text}' is not a mime type (type/subtype)")
    return text


@dataclass(frozen=True)
class Field:
    check: Check
    mandatory: bool = False


# The common interaction fields other than content and identity (and `service_id`, ours).
COMMON: dict[str, Field] = {
    "status": Field(_one_of(STATUSES), True),
    "type": Field(_string, True),
    "sub_type": Field(_string),
    "media_type": Field(_string, True),
    "parent_id": Field(_string),
    "thread_id": Field(_string),
    "external_id": Field(_string),
    "owner_id": Field(_integer),
    "creator_app_id": Field(_integer, True),
    "start_date": Field(_datetime, True),
    "end_date": Field(_datetime),
    "timeshift": Field(_integer),
    "category_id": Field(_string),
    "allow_children": Field(_boolean),
    "subject": Field(_string),
    "stopped_reason": Field(_string),
    "udata": Field(_hash),
}

_EMAIL_IN: dict[str, Field] = {
    "from": Field(_email_address),
    "reply_to": Field(_email_address),
    "to": Field(_email_addresses),
    "cc": Field(_email_addresses),
    "sent_date": Field(_datetime),
}

# The fields of each kind, by entity_type (cobrowse and open media have only the common ones).
KIND_FIELDS: dict[int, dict[str, Field]] = {
    0: _EMAIL_IN,
    1: {
        **_EMAIL_IN,
        "bcc": Field(_email_addresses),
        "reference_id": Field(_integer),
        "reviewer_id": Field(_integer),
        "standard_response_id": Field(_string),
    },
    2: {"established_date": Field(_datetime), "released_date": Field(_datetime)},
    3: {
        "duration": Field(_count),
        "outcome": Field(_string),
        "phone_number": Field(_string),
        "tconnection_id": Field(_string),
    },
    5: {
        "callback_status": Field(_one_of(CALLBACK_STATUSES)),
        "desired_response_type": Field(_response_type, True),
        "start_time": Field(_datetime, True),
        "end_time": Field(_datetime),
        "customer_number": Field(_string, True),
        "attempts": Field(_count, True),
        "dn": Field(_string),
        "location": Field(_string),
        "callback_server_id": Field(_string),
        "call_result": Field(_one_of(CALL_RESULTS)),
        "callback_type": Field(_one_of(CALLBACK_TYPES)),
    },
    6: {},
    7: {},
}


@dataclass(frozen=True)
class Upload:
    """A content part uploaded as multipart/form-data: its bytes and the part's Content-Type."""

    data: bytes
    mime: str | None = None
    is_file: bool = True


@dataclass(frozen=True)
class Content:
    """One stored content part of an interaction."""

    part: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class NewInteraction:
    """A validated interaction ready to store (`interaction_id` None: the server generates one)."""

    interaction_id: str | None
    customer_id: str
    service_id: int | None
    entity_type: int
    start_ms: int
    doc: dict[str, Any]
    contents: tuple[Content, ...]


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _entity_type(body: Mapping[str, Any]) -> int:
    value = body.get("entity_type")
    if value is None:
        raise MissingParameter("entity_type")
    return int(_one_of(ENTITY_TYPES)("entity_type", value))


def _fields(body: Mapping[str, Any], spec: Mapping[str, Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in spec.items():
        value = body.get(name)
        if _missing(value):
            if field.mandatory:
                raise MissingParameter(name)
            continue
        out[name] = field.check(name, value)
    return out


def _decode_base64(param: str, value: Any) -> bytes:
    text = "".join(_string(param, value).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BadParameter(param, "is not valid base64") from err


def _utf8(param: str, upload: Upload) -> str:
    try:
        return upload.data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadParameter(param, "the uploaded part is not UTF-8 text") from err


def _contents(body: Mapping[str, Any], uploads: Mapping[str, Upload]) -> tuple[list[Content], dict[str, Any]]:
    """The content parts and the content fields of the stored document (mimes and size)."""
    for name in uploads:
        if name not in PARTS and name != "text":
            raise BadParameter(name, "is not a content part (text, structured_text, binary_content)")
    if "text" in uploads and PLAIN_TEXT in uploads:
        raise BadParameter("text", "is uploaded twice (as 'text' and as 'plain_text')")
    text_upload = uploads.get("text") or uploads.get(PLAIN_TEXT)
    for field_name, upload in (("text", text_upload), (STRUCTURED_TEXT, uploads.get(STRUCTURED_TEXT)),
                               (BINARY_CONTENT, uploads.get(BINARY_CONTENT))):
        if upload is not None and not _missing(body.get(field_name)):
            raise BadParameter(field_name, "is given both in the JSON and as an uploaded part")
    contents: list[Content] = []
    doc: dict[str, Any] = {}

    text = body.get("text")
    if text_upload is not None:
        text = _utf8("text", text_upload)
    if not _missing(text):
        contents.append(Content(PLAIN_TEXT, "text/plain", _string("text", text).encode("utf-8")))

    structured = body.get(STRUCTURED_TEXT)
    structured_upload = uploads.get(STRUCTURED_TEXT)
    mime = body.get("structured_text_mime")
    if structured_upload is not None:
        structured = _utf8(STRUCTURED_TEXT, structured_upload)
        if _missing(mime):
            mime = structured_upload.mime
    if not _missing(structured):
        if _missing(mime):
            raise MissingParameter("structured_text_mime", "mandatory when structured_text is given")
        doc["structured_text_mime"] = _mime("structured_text_mime", mime)
        data = _string(STRUCTURED_TEXT, structured).encode("utf-8")
        contents.append(Content(STRUCTURED_TEXT, doc["structured_text_mime"], data))
    elif not _missing(mime):
        raise BadParameter("structured_text_mime", "is given without structured_text")

    binary_upload = uploads.get(BINARY_CONTENT)
    mime = body.get("binary_content_mime")
    size = body.get("binary_content_size")
    blob: bytes | None = None
    if binary_upload is not None:
        if not binary_upload.is_file:
            raise BadParameter(BINARY_CONTENT, "send binary content as a file part (with a filename)")
        blob = binary_upload.data
        if _missing(mime):
            mime = binary_upload.mime or "application/octet-stream"
    elif not _missing(body.get(BINARY_CONTENT)):
        blob = _decode_base64(BINARY_CONTENT, body[BINARY_CONTENT])
    if blob is not None:
        if _missing(mime):
            raise MissingParameter("binary_content_mime", "mandatory when binary_content is given")
        if size is not None and _count("binary_content_size", size) != len(blob):
            raise BadParameter("binary_content_size", f"'{size}' is not the size of the content ({len(blob)} bytes)")
        doc["binary_content_mime"] = _mime("binary_content_mime", mime)
        doc["binary_content_size"] = len(blob)
        contents.append(Content(BINARY_CONTENT, doc["binary_content_mime"], blob))
    elif not _missing(mime) or size is not None:
        raise BadParameter("binary_content_mime" if not _missing(mime) else "binary_content_size",
                           "is given without binary_content")
    return contents, doc


def parse_interaction(body: Any, uploads: Mapping[str, Upload] | None = None) -> NewInteraction:
    """Validate an ingest body (the common fields and those of its entity_type) with its content."""
    if not isinstance(body, dict):
        raise BadParameter("interaction", "the body must be a JSON object")
    entity_type = _entity_type(body)
    kind = KIND_FIELDS[entity_type]
    known = {"interaction_id", "customer_id", "service_id", "entity_type"} | set(COMMON) | CONTENT_FIELDS
    for name in body:
        if name not in known and name not in kind:
            where = next((ENTITY_TYPES[t] for t, spec in KIND_FIELDS.items() if name in spec), None)
            reason = (f"is a field of {where} interactions, not of {ENTITY_TYPES[entity_type]}" if where
                      else "is not a field of an interaction")
            raise BadParameter(name, reason)
    iid = body.get("interaction_id")
    interaction_id = None if _missing(iid) else check_interaction_id("interaction_id", iid)
    customer = body.get("customer_id")
    if _missing(customer):
        raise MissingParameter("customer_id")
    service = body.get("service_id")
    doc = {"entity_type": entity_type, **_fields(body, COMMON), **_fields(body, kind)}
    doc.setdefault("allow_children", True)
    contents, content_doc = _contents(body, uploads or {})
    doc.update(content_doc)
    return NewInteraction(
        interaction_id=interaction_id,
        customer_id=_customer_id("customer_id", customer),
        service_id=None if service is None else _service_id("service_id", service),
        entity_type=entity_type,
        start_ms=to_millis(parse_dt(doc["start_date"])),
        doc=doc,
        contents=tuple(contents),
    )
