"""Bulk Profile Import (CV.WS.PROF.IMPORT.1): a multipart `description` part, and optionally the file as a
`profiles` part (spooled to disk, never held in memory).

Every check that does not need the body answers before any of it is read (mode, tasks), and the description
is checked before the file is stored: a refused import costs the server its headers and description only.
A client that sends `Expect: 100-continue`, as the reference's example does, gets the refusal before it
sends the body.

A client that accepts `application/x-ndjson` gets the import's progress while it runs: once the first batch
is committed, the answer is 200 and a stream of JSON lines, `{"progress": {...}}` at most twice a second,
then `{"report": {...}}` or `{"error": <error object>, "status": N}`. An import refused or finished before
its first commit answers as it would without it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

from rest_compat.call import Call, reply
from rest_compat.import_form import read_import_body
from ucs_graphql.access.gate import Gate
from ucs_graphql.imports import service
from ucs_graphql.imports.report import Report
from ucs_graphql.imports.service import Authorize, Prepared, Progress, Upload
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import UcsError, UnsupportedMediaType
from ucs_graphql.web.responses import error_body

FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
NDJSON = "application/x-ndjson"
# How often a streamed import sends its progress (seconds).
PROGRESS_EVERY = 0.5

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


def _progress_line(p: Progress) -> bytes:
    return jsonio.dumps({"progress": {"next-index": p.next_index, "imported": p.imported, "refused": p.refused,
                                      "bytes-read": p.bytes_read, "total-bytes": p.total_bytes}}) + b"\n"


async def _streamed(call: Call, start: Callable[[Callable[[Progress], None]], Awaitable[Report]],
                    cleanup: Callable[[], None]) -> Response:
    """Run the import; once it commits its first batch, answer 200 and stream its progress, then its end."""
    latest: list[Progress] = []
    moved = asyncio.Event()

    def progress(p: Progress) -> None:
        latest[:] = [p]
        moved.set()

    def finished(done: asyncio.Future[Report]) -> None:
        cleanup()
        if not done.cancelled():
            done.exception()  # retrieved here too, for an answer that is never streamed

    task = asyncio.ensure_future(start(progress))
    task.add_done_callback(finished)
    waiter = asyncio.ensure_future(moved.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        raise
    finally:
        waiter.cancel()
    if task.done():
        return reply(task.result().to_wire())  # refused or finished before its first commit: a plain answer

    async def lines() -> AsyncIterator[bytes]:
        try:
            while not task.done():
                if latest:
                    yield _progress_line(latest.pop())
                await asyncio.wait({task}, timeout=PROGRESS_EVERY)
            try:
                yield jsonio.dumps({"report": task.result().to_wire()}) + b"\n"
            except UcsError as err:
                body = error_body(err.kind, err.description, call.request.method, str(call.request.url))
                yield jsonio.dumps({"error": body, "status": row_for(err.kind).status}) + b"\n"
        finally:
            # A client gone stops the import after its committed batches (their rows stay; resume from them).
            task.cancel()

    return StreamingResponse(lines(), media_type=NDJSON)


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
    upload = Upload(body.file, body.filename) if body.file is not None else None
    if NDJSON in call.request.headers.get("accept", ""):
        return await _streamed(call, lambda progress: service.run(call.ctx, prepared[0], upload, authorize=authorize,
                                                                  progress=progress), body.close)
    try:
        report = await service.run(call.ctx, prepared[0], upload, authorize=authorize)
    finally:
        body.close()
    return reply(report.to_wire())
