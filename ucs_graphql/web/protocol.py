"""uvicorn's HTTP protocol (httptools) with limits on the request head, which the ASGI layer never sees:
its size (`max_header_bytes`, request line included) and number of headers (`max_header_count`), answered
431, every head of a connection held to them however its bytes come (see `data_received`), and the time a
client has to send it (`header_timeout_seconds`, from the connection or the request's first byte), after
which the connection is closed (with a 408 when part of a head had come). A connection that never sends a
request, or sends one a byte at a time, is closed instead of being held.

The trailer section of a chunked body is held to the same limits, counted on its own, and never reaches the
application: its fields are kept apart from the request's headers and dropped (`on_chunk_header`).

A refused head is the connection's last request. Its answer goes out after the answers of the requests before
it (pipelined behind them) have ended, never inside one, and the connection closes after it.
So does an answer that starts before its request's body has all come (`_HeadHeld`).

`ucs-graphql serve` selects it (uvicorn's `http="ucs_graphql.web.protocol:GuardedHttpProtocol"`) and passes
the limits to each worker in the environment (`LIMITS_ENV`).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from ucs_graphql.config import Settings
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.web.responses import error_body

LIMITS_ENV = "UCS_HTTP_HEAD_LIMITS"
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class HeadLimits:
    """What a request head may be, and how long a client has to send it."""

    max_bytes: int
    max_count: int
    timeout_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> HeadLimits:
        return cls(settings.max_header_bytes, settings.max_header_count, settings.header_timeout_seconds)

    def encode(self) -> str:
        """The value of LIMITS_ENV."""
        return json.dumps(asdict(self))


def _from_environment() -> HeadLimits:
    raw = os.environ.get(LIMITS_ENV)
    return HeadLimits(**json.loads(raw)) if raw else HeadLimits.of(Settings())


class _HeadRefused(Exception):
    """Raised from a parser callback to stop reading a head that is over a limit."""


class _HeadHeld:
    """The transport one response is written through: its first write (the status line and headers) is held
    until the next one (the body, or its first chunk) and sent with it, one segment and one system call instead
    of two. It is held at most to the end of the current turn of the event loop, so a streamed response whose
    body comes later still sends its head at once. Everything else is the connection's transport, after the
    held bytes have gone out.

    An answer that starts before its request's body has all come (a 408 for a body that stopped, a request
    stopped at its time limit, a refusal before the body is read) is the connection's last: its head gets
    `connection: close` and the connection closes after it, lingering. Kept open, the connection would take
    what the client sends next as the rest of that body: a client that gave up on the body and sent its next
    request would see it cut and refused."""

    __slots__ = ("_cycle", "_first", "_held", "_protocol", "_transport")

    def __init__(self, protocol: GuardedHttpProtocol, transport: asyncio.Transport,
                 cycle: RequestResponseCycle) -> None:
        self._protocol = protocol
        self._transport = transport
        self._cycle = cycle
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            if self._cycle.more_body:  # the request's body has not all come (rare)
                data = self._last(data)
                if not data:
                    return
            self._first = False
            self._held = data
            self._protocol.loop.call_soon(self.flush)
            return
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        self._transport.write(data)

    def _last(self, data: bytes) -> bytes:
        """The first write of an answer before its request's body has all come: the head made the connection's
        last (b"" when it was "100 Continue", sent before the client sends its body)."""
        cycle = self._cycle
        if not cycle.response_started:
            self._transport.write(data)
            return b""
        if cycle.keep_alive:
            cycle.keep_alive = False  # uvicorn closes the connection after the answer
            data = data[:-2] + b"connection: close\r\n\r\n"
        return data

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        if self._cycle.more_body:
            self._protocol.linger()  # the rest of the body may still be on its way
        else:
            self._transport.close()

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with the head limits of this module."""

    limits: HeadLimits | None = None  # read from the environment by the first connection of the process

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if GuardedHttpProtocol.limits is None:
            GuardedHttpProtocol.limits = _from_environment()
        self.head_limits = GuardedHttpProtocol.limits
        self._max_bytes = self.head_limits.max_bytes
        self._max_count = self.head_limits.max_count
        self._in_head = False  # the parser is inside a request's head (its first byte came)
        self._head_bytes = -1  # of a head left unfinished by a read, its bytes so far (-1: none yet)
        self._head_count = 0  # fields of the head, or of the trailer section, being read
        self._tail = False  # a chunk's size line was read and none of its data has come: maybe the last chunk
        self._tail_mark = (0, 0)  # the lengths of the request's body and trailer fields when that was last seen
        self._tail_field = -1  # bytes of an unfinished trailer field, from reads wholly inside it (-1: none yet)
        self._behind: RequestResponseCycle | None = None  # the cycle before the last request's
        self._sizing = False  # the heads that end in this read are measured (`_measure`)
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str, str] | None = None
        self._discarding = False
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_limits.timeout_seconds, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._discarding:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head waits behind the answer in progress (an import may take minutes): its time runs
            # again from now, and the answer is not cut short.
            self._arm()
            return
        if self._in_head:
            self._answer(408, "request_timeout",
                         f"the request head was not complete after {self.head_limits.timeout_seconds:g} s")
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        # As uvicorn's, with every head's size held to the limit and its refusals answered. A read no larger than
        # the limit holds every head that begins and ends in it within the limit: the usual read (a small head,
        # whole) costs a comparison. The heads that end in a larger read, or in a read after the one they began
        # in, are measured when they end (`_measured_read`); a head a read leaves unfinished is counted by its
        # bytes so far (`_unfinished`).
        if self._discarding:
            return
        self._unset_keepalive_if_required()
        if self._in_head or self._tail or len(data) > self._max_bytes:
            self._measured_read(data)
            return
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._parse_stopped(exc)
            return
        if self._in_head:
            self._unfinished(data)

    def _measured_read(self, data: bytes) -> None:
        """A read larger than the limit, or one that goes on with a head begun before it, or with a chunk whose
        data has not come (maybe the trailer section): the heads that end in it are measured (`_measure`), a
        trailer section left unfinished is measured (`_unfinished_tail`)."""
        if self._in_head:
            self._head_bytes += len(data)  # all of it is the head's, unless the head ends in it
        if self._tail:  # marked again: the application may have taken the body in hand since
            self._tail_mark = (len(self.cycle.body), len(self.headers))
        self._sizing = True
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._parse_stopped(exc)
            return
        finally:
            self._sizing = False
        if self._in_head:
            self._unfinished(data)
        elif self._tail:
            self._unfinished_tail(data)

    def _parse_stopped(self, exc: Exception) -> None:
        if isinstance(exc, httptools.HttpParserUpgrade):
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        elif self._refusal is not None:
            self._answer(*self._refusal)
        else:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)

    def _unfinished(self, data: bytes) -> None:
        """After a read that left a head unfinished: refuse it when its bytes so far are over the limit, else
        give it its time from now. (A head that came whole, the usual case, sets no timer.)"""
        if self._head_bytes < 0:
            # Begun in this read, after the end of another request's head or body, maybe: its bytes are those
            # from its request line on (the last place its target is found, so never more than are its own).
            url = self.url
            at = data.rfind(b" " + url) if url else -1
            self._head_bytes = len(data) - max(at - len(self.parser.get_method()), 0) if at >= 0 else 0
        if self._head_bytes > self._max_bytes:
            self._answer(431, "header_too_large", f"the request head is larger than {self._max_bytes} bytes")
        else:
            self._arm()

    def _unfinished_tail(self, data: bytes) -> None:
        """After a read that ended inside a chunk none of whose data had come before it. If some came in this read,
        the chunk is one of data, not the last. Else the read ended in the trailer section: refuse it when its
        fields so far and the bytes of its unfinished field are over the limit. Those bytes are counted from
        the reads wholly inside that field (the field's part in the read it began in is not), so the memory an
        unfinished field holds is bounded, and a section within the limit is never refused by the count: the
        last field is reported only once the section ends, so its count may hold the CR of the blank line that
        ends the section (which is no field's), come in a read of its own."""
        body, fields = self._tail_mark
        if len(self.cycle.body) > body:
            self._tail = False
            return
        if self._tail_field < 0 or len(self.headers) > fields:
            self._tail_field = 0  # the unfinished field began in this read
        else:
            self._tail_field += len(data)
        if self._trailer_bytes() + self._tail_field > self._max_bytes + 1:
            self._answer(*self._trailer_too_large())

    def _trailer_too_large(self) -> tuple[int, str, str]:
        return (431, "header_too_large", f"the request's trailer section is larger than {self._max_bytes} bytes")

    def _trailer_bytes(self) -> int:
        """The size of the trailer fields read so far, measured as a head's fields are (`_measure`)."""
        return sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _measure(self) -> None:
        """Refuse the head that ends now, if it is larger than the limit, by the size of its request line and
        fields as a client writes them (`Name: value`, CRLF-ended lines); the whitespace the parser skips
        around a value is not counted."""
        size = len(self.parser.get_method()) + len(self.url) + 14  # two spaces, HTTP/1.1, two CRLFs
        for name, value in self.headers:
            size += len(name) + len(value) + 4
        if size > self._max_bytes:
            self._refusal = (431, "header_too_large", f"the request head is larger than {self._max_bytes} bytes")
            raise _HeadRefused

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_header(self, name: bytes, value: bytes) -> None:
        # A field of the head, or of the trailer section after a chunked body (which httptools reports as
        # header fields too, after the head's end), counted against the same limit, each section on its own.
        self._head_count += 1
        if self._head_count > self._max_count:
            what = "header" if self._in_head else "trailer"
            self._refusal = (431, "header_too_large", f"the request has more than {self._max_count} {what} fields")
            raise _HeadRefused
        super().on_header(name, value)

    def on_chunk_header(self) -> None:
        # The trailer fields, if this is the last chunk, go to a list of their own, not to the request's headers:
        # the application has those in hand, and may have read them (a trailer `Host` or `Authorization` would
        # stand beside the head's). The list is measured (`_unfinished_tail`, `on_chunk_complete`) and dropped.
        if self.headers is self.scope["headers"]:
            self.headers = []
        self._tail = True
        self._tail_mark = (len(self.cycle.body), 0)
        self._tail_field = -1

    def on_chunk_complete(self) -> None:
        self._tail = False
        self._head_count = 0  # the trailer fields, if any, are not the next head's
        if self.headers and self._trailer_bytes() > self._max_bytes:
            self._refusal = self._trailer_too_large()
            raise _HeadRefused

    def on_headers_complete(self) -> None:
        if self._sizing:
            self._measure()
        self._in_head = False
        self._head_bytes = -1
        self._head_count = 0
        self._disarm()
        before = self.cycle
        self._behind = before
        super().on_headers_complete()
        # An upgrade request (a WebSocket) makes no cycle: the connection changes protocol, nothing is held.
        if self.cycle is not None and self.cycle is not before:
            self.cycle.transport = _HeadHeld(self, self.transport, self.cycle)  # type: ignore[assignment]

    def _answer(self, status: int, kind: str, description: str) -> None:
        """Answer the reference's error object and close the connection."""
        self.logger.warning("%s: %s", self.client[0] if self.client else "-", description)
        body = jsonio.dumps(error_body(kind, description, "-", "-"))
        assert row_for(kind).status == status
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend([b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
                     b"\r\nconnection: close\r\n\r\n", body])
        self._refuse(b"".join(head))

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to bytes that are not HTTP, sent as the other refusals are.
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: text/plain; charset=utf-8\r\ncontent-length: ", str(len(msg)).encode(),
                        b"\r\nconnection: close\r\n\r\n", msg.encode("ascii")])
        self._refuse(b"".join(content))

    def _refuse(self, answer: bytes) -> None:
        """Send a refusal (an answer with `connection: close`), the connection's last answer, and close the
        connection; nothing more is read. Answers are sent in the order of their requests, never mixed: while the
        answer of an earlier request is still going out (a streamed body, a pipelined request waiting behind
        it), the refusal waits for the last of them to end; if that one never ends, the connection closes
        without it."""
        self._disarm()
        self._discarding = True
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_complete:
            # What is refused is the request's own (its trailer section, or bytes in its body that are not HTTP):
            # that request is refused, in place of its answer if it has not started (`_refuse_request`).
            if cycle.response_started:
                return  # the answer going out is the connection's last (`_HeadHeld`)
            self._refuse_request(cycle)
            cycle = self._behind
        if cycle is None or cycle.response_complete:
            self._send_last(answer)
            return
        completed = cycle.on_response

        def then_refusal() -> None:
            completed()
            self._send_last(answer)

        cycle.on_response = then_refusal

    def _refuse_request(self, cycle: RequestResponseCycle) -> None:
        """Take back a request whose body has not all come: its application, if it runs, sees the client gone
        (its answer, if any, is dropped); if it waits behind the answers of the requests before it, it is not
        started."""
        cycle.disconnected = True
        cycle.message_event.set()
        for queued in self.pipeline:
            if queued[0] is cycle:
                self.pipeline.remove(queued)
                break

    def _send_last(self, answer: bytes) -> None:
        if self.transport.is_closing() or self._lingering:
            return  # the answer before it closed the connection
        if self.cycle is not None and isinstance(self.cycle.transport, _HeadHeld):
            self.cycle.transport.flush()  # an answer's head still held goes out first, whole
        self._unset_keepalive_if_required()
        self.transport.write(answer)
        self.linger()

    def linger(self) -> None:
        """A lingering close: what was written and a FIN go out, what the client still sends is read and dropped
        for a moment. Closing at once with unread data would reset the connection and lose the answer."""
        if self._lingering:
            return
        self._lingering = self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if not self.transport.is_reading():
            self.transport.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
