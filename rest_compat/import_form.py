"""The body of a bulk import, read part by part as it arrives: the `description` part first (at most
MAX_DESCRIPTION bytes, sent as a field or as a file), handed to the caller's check before another byte of the
body is read, then the file as the `profiles` part, spooled to disk once that check has passed.

Starlette's form parser reads the whole body before the handler sees a part: a `description` sent as a file
is spooled and then read into memory whole, and the upload is on disk in full before its description is
checked. This reader keeps the memory of a request to one chunk of the body and the description.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from ucs_graphql.kit.errors import BadParameter, MalformedRequest, MissingParameter, PayloadTooLarge

DESCRIPTION = "description"
PROFILES = "profiles"
# The largest description part (a JSON object of nine short fields needs a few hundred bytes).
MAX_DESCRIPTION = 64 * 1024
# An uploaded file stays in memory up to this size, then goes to a temporary file.
SPOOL = 1024 * 1024
# The largest application/x-www-form-urlencoded body (the reference's HTML form sends the description so).
MAX_URLENCODED = 1024 * 1024

CheckDescription = Callable[[bytes], Awaitable[None]]
CheckFile = Callable[[str | None], None]


@dataclass
class ImportBody:
    """What the request carried: the description's bytes and the uploaded file (None: no `profiles` part)."""

    description: bytes
    file: IO[bytes] | None = None
    filename: str | None = None
    _spool: Any = field(default=None, repr=False)

    def close(self) -> None:
        """Drop the spooled upload."""
        if self._spool is not None:
            self._spool.close()


class _Parts:
    """python-multipart callbacks, turned into a list of events handled after each chunk of the body."""

    def __init__(self, charset: str) -> None:
        self.charset = charset
        self.events: list[tuple[str, Any]] = []
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.part: str | None = None
        self.seen: set[str] = set()
        self.description = bytearray()

    def on_part_begin(self) -> None:
        self.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.strip().lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise MalformedRequest("a part of the multipart body has no Content-Disposition name")
        name = options[b"name"].decode(self.charset, "replace")
        if name not in (DESCRIPTION, PROFILES):
            raise BadParameter(name, f"'{name[:80]}' is not a part of an import: send a part 'description' (the "
                                     "JSON), then the file as a part 'profiles' if it is not in the import directory")
        if name in self.seen:
            raise BadParameter(name, f"the part '{name}' is sent twice")
        if name == PROFILES and DESCRIPTION not in self.seen:
            raise BadParameter(PROFILES, "the part 'description' must come first, before the file")
        self.seen.add(name)
        self.part = name
        if name == PROFILES:
            raw = options.get(b"filename")
            self.events.append(("file", raw.decode(self.charset, "replace") if raw is not None else None))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part == DESCRIPTION:
            if len(self.description) + end - start > MAX_DESCRIPTION:
                raise PayloadTooLarge(f"the part 'description' is larger than {MAX_DESCRIPTION:,} bytes")
            self.description += data[start:end]
        else:
            self.events.append(("data", data[start:end]))

    def on_part_end(self) -> None:
        if self.part == DESCRIPTION:
            self.events.append(("description", bytes(self.description)))
        self.part = None


async def _urlencoded(request: Request, check_description: CheckDescription) -> ImportBody:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_URLENCODED:
            raise PayloadTooLarge(f"a form-urlencoded import body is larger than {MAX_URLENCODED:,} bytes: upload "
                                  "the file as a multipart/form-data part 'profiles'")
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=4))
    except (UnicodeDecodeError, ValueError) as err:
        raise MalformedRequest(f"the form body cannot be read: {err}") from err
    if DESCRIPTION not in fields:
        raise MissingParameter(DESCRIPTION, "the request needs a part named 'description' holding the JSON")
    description = fields[DESCRIPTION].encode("utf-8")
    await check_description(description)
    if PROFILES not in fields:
        return ImportBody(description)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    spool.write(fields[PROFILES].encode("utf-8"))
    spool.seek(0)
    return ImportBody(description, spool, None, spool)


async def read_import_body(request: Request, check_description: CheckDescription,
                           check_file: CheckFile) -> ImportBody:
    """Read the body: `check_description` runs on the description before the body's next chunk is read,
    `check_file` on the upload's file name before any of its bytes is stored; either may raise."""
    media, params = parse_options_header(request.headers.get("content-type", ""))
    if media == b"application/x-www-form-urlencoded":
        return await _urlencoded(request, check_description)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedRequest("the multipart body has no boundary (Content-Type: multipart/form-data; boundary=...)")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    parts = _Parts("utf-8" if charset.lower() in ("utf-8", "utf8") else "latin-1")
    callbacks: Any = {name: getattr(parts, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    spool: Any = None
    body = ImportBody(b"")
    checked = False
    try:
        parser = MultipartParser(boundary, callbacks)
        async for chunk in request.stream():
            parser.write(chunk)
            for kind, value in parts.events:
                if kind == "description":
                    body.description = value
                    await check_description(value)
                    checked = True
                elif kind == "file":
                    check_file(value)
                    spool = body._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
                    body.file, body.filename = spool, value
                else:
                    spool.write(value)
            parts.events.clear()
        parser.finalize()
    except FormParserError as err:
        body.close()
        raise MalformedRequest(f"the multipart body cannot be read: {err}") from err
    except BaseException:
        body.close()
        raise
    if not checked:
        body.close()
        if DESCRIPTION in parts.seen:
            raise MalformedRequest("the multipart body ends inside the part 'description'")
        raise MissingParameter(DESCRIPTION, "the request needs a part named 'description' holding the JSON")
    if spool is not None:
        spool.seek(0)
    return body
