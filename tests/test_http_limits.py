"""HTTP limits below and in the ASGI layer: request heads (size, count, time to send), body read timeout,
time limits per kind of request and of a WebSocket, and X-Forwarded-For believed from configured proxies
only. Heads and connections are tried on a real server process with raw sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

from tests.server_process import ServerProcess, serve
from tests.test_subscriptions import served_app
from ucs_graphql.db.engine import sqlite_path
from ucs_graphql.db.tables.journeys import service
from ucs_graphql.web.graphiql import STATIC
from ucs_graphql.web.middleware import Deadlines

GUARD = 30  # seconds a socket waits for the server before the test fails


async def exchange(server: ServerProcess, data: bytes) -> bytes:
    """Send raw bytes on a new connection and read until the server closes it."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(GUARD):
            return await reader.read(-1)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def body_of(answer: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    return body


HEAD = b"GET /server/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"


async def test_request_heads_are_limited_and_unfinished_connections_are_closed(tmp_path: Path, database_url: str):
    config = "max_header_bytes = 8192\nmax_header_count = 30\nheader_timeout_seconds = 1\n"
    async with serve(tmp_path, database_url, config) as server:
        ok = await exchange(server, HEAD + b"".join(b"X-N%d: v\r\n" % n for n in range(25)) +
                            b"Connection: close\r\n\r\n")
        assert status_of(ok) == 200
        # One header of a megabyte (8 MB went through before).
        big = await exchange(server, HEAD + b"X-Big: " + b"a" * 1024 * 1024 + b"\r\n\r\n")
        assert status_of(big) == 431 and body_of(big)["code"] == 4310
        # Many small headers (100,000 went through before).
        many = await exchange(server, HEAD + b"".join(b"X-N%d: v\r\n" % n for n in range(40)) + b"\r\n")
        assert status_of(many) == 431 and "more than 30 header fields" in body_of(many)["description"]
        # Connections that never finish a head are closed after header_timeout_seconds, not held; a
        # partial head is answered 408 first.
        silent = [exchange(server, b"") for _ in range(20)]
        partial = [exchange(server, HEAD + b"X-Slow: 1\r\n") for _ in range(20)]
        answers = await asyncio.gather(*silent, *partial)
        assert answers[:20] == [b""] * 20
        assert {status_of(a) for a in answers[20:]} == {408}
        assert body_of(answers[20])["code"] == 4080
        # The server still answers.
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            assert (await client.get("/server/status")).status_code == 200


def head_of(size: int, last: bytes = b"") -> bytes:
    """A request head of exactly `size` bytes (request line and blank line included), its padding in one field."""
    fixed = len(HEAD) + len(last) + len(b"X-Pad: \r\n\r\n")
    return HEAD + last + b"X-Pad: " + b"p" * (size - fixed) + b"\r\n\r\n"


async def test_every_head_is_held_to_the_limits_however_it_comes(tmp_path: Path, database_url: str):
    limit = 4096
    ok = HEAD + b"\r\n"
    many = HEAD + b"".join(b"X-N%d: v\r\n" % n for n in range(30)) + b"\r\n"  # 31 fields
    async with serve(tmp_path, database_url, f"max_header_bytes = {limit}\nmax_header_count = 30\n") as server:
        def refused(answers: list[bytes], count: bool = False) -> bool:
            last = answers[-1]
            words = "more than 30 header fields" if count else f"larger than {limit} bytes"
            return status_of(last) == 431 and body_of(last)["code"] == 4310 and words in body_of(last)["description"]

        for over, count in ((head_of(limit + 1), False), (head_of(20 * 1024), False), (many, True)):
            # The first head on a connection, sent whole in one write.
            got = answers_of(await exchange(server, over))
            assert len(got) == 1 and refused(got, count), got
            # A later head on a kept connection, after a request answered.
            got = await converse(server, [ok, None, over, -1])
            assert status_of(got[0]) == 200 and len(answers_of(got[1])) == 1 and refused(got[1:], count), got
            # A head pipelined behind a request, in the same write: the request is answered, then the refusal.
            got = answers_of(await exchange(server, ok + ok + over + ok))
            assert [status_of(a) for a in got] == [200, 200, 431] and refused(got, count), got
            # Begun behind a request, ended in a later write.
            got = await converse(server, [ok + over[:100], None, over[100:], -1])
            assert status_of(got[0]) == 200 and len(answers_of(got[1])) == 1 and refused(got[1:], count), got
        # A head of exactly the limit passes, however it comes.
        at = head_of(limit, b"Connection: keep-alive\r\n")
        got = await converse(server, [at, None, ok, None, at, None, ok + at + head_of(limit, b"Connection: close\r\n"),
                                      -1])
        assert [status_of(a) for a in got[:3]] == [200, 200, 200]
        assert [status_of(a) for a in answers_of(got[3])] == [200, 200, 200], got[3][:300]
        got = await converse(server, [ok + at[:100], None, at[100:], None])
        assert [status_of(a) for a in got] == [200, 200]


async def test_forwarded_for_is_believed_from_configured_proxies_only(tmp_path: Path, database_url: str):
    async def clients(config: str, where: Path) -> tuple[list[int], list[str]]:
        await asyncio.to_thread(where.mkdir)
        async with serve(where, database_url, "rate_limit_per_minute = 2\n" + config) as server:
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                statuses = [(await client.get("/server/status", headers={"X-Forwarded-For": f"10.0.0.{n}"}))
                            .status_code for n in range(3)]
            return statuses, [r["client"] for r in await server.access_records_of("/server/status", 3)]

    statuses, seen = await clients("", tmp_path / "default")
    assert statuses == [200, 200, 503]  # one client, whatever the header says
    assert set(seen) == {"127.0.0.1"}
    statuses, seen = await clients('trusted_proxies = ["127.0.0.1/32"]\n', tmp_path / "proxied")
    assert statuses == [200, 200, 200]
    assert seen == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]


# --- in the ASGI layer ---

async def dribble(parts: list[bytes], pause: float) -> AsyncIterator[bytes]:
    """A request body sent a part at a time."""
    for part in parts:
        await asyncio.sleep(pause)
        yield part


SCHEMA = b'{"name": "Slow", "type": "single-valued", "attributes": [{"name": "level", "type": "integer"}]}'
JSON = {"content-type": "application/json"}


async def test_a_body_the_client_stops_sending_is_408(make_client):
    client = await make_client(body_timeout_seconds=0.3)
    resp = await client.post("/metadata/profiles/extensions", content=dribble([SCHEMA[:10], SCHEMA[10:]], 1.0),
                             headers=JSON)
    assert resp.status_code == 408 and resp.json()["code"] == 4080
    assert (await client.get("/metadata/profiles/extensions/slow")).status_code == 404


async def test_a_request_longer_than_its_kind_allows_is_stopped(make_client):
    client = await make_client(request_timeout_seconds=0.5)
    parts = [SCHEMA[i:i + 10] for i in range(0, len(SCHEMA), 10)]
    resp = await client.post("/metadata/profiles/extensions", content=dribble(parts, 0.15), headers=JSON)
    assert resp.status_code == 503 and resp.json()["code"] == 5030 and "time limit" in resp.json()["description"]
    assert resp.headers["retry-after"] == "1"
    assert (await client.get("/metadata/profiles/extensions/slow")).status_code == 404
    query = b'{"query": "{ serverStatus { mode } }"}'
    resp = await client.post("/graphql", content=dribble([query[i:i + 5] for i in range(0, len(query), 5)], 0.15),
                             headers=JSON)
    assert resp.status_code == 503 and resp.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    # A mode switch may take longer (mode_switch_timeout_seconds more).
    mode = b'{"mode": "maintenance"}'
    resp = await client.post("/server/mode", content=dribble([mode[i:i + 4] for i in range(0, len(mode), 4)], 0.15),
                             headers=JSON)
    assert resp.status_code == 200, resp.text
    assert (await client.get("/server/status")).json()["mode"] == "maintenance"


async def test_time_limits_of_one_duration_share_a_timer_and_each_falls_on_time():
    # The queue's timer is armed for its oldest deadline; a request that ended is never cut, and one that
    # began behind it is cut at its own time, not at the first one's nor later.
    loop = asyncio.get_running_loop()
    queue = Deadlines(loop, 0.3)
    outcomes: dict[str, tuple[str, bool, float]] = {}

    async def request(name: str, work: float) -> None:
        began = loop.time()
        deadline = queue.start()
        try:
            await asyncio.sleep(work)
        except asyncio.CancelledError:
            outcomes[name] = ("cut", deadline.end(), loop.time() - began)
            return
        outcomes[name] = ("done", deadline.end(), loop.time() - began)

    first = asyncio.create_task(request("quick", 0.05))
    await asyncio.sleep(0.1)
    slow = asyncio.create_task(request("slow", 5.0))
    await asyncio.sleep(0.05)
    last = asyncio.create_task(request("quick too", 0.4 - 0.15))
    await asyncio.gather(first, slow, last)
    assert {name: got[:2] for name, got in outcomes.items()} == {
        "quick": ("done", False), "slow": ("cut", True), "quick too": ("done", False)}
    assert 0.29 <= outcomes["slow"][2] < 0.6
    assert not queue.pending or all(d.ended for d in queue.pending)


async def test_a_websocket_is_closed_at_its_time_limit(database_url):
    async with served_app(database_url, websocket_timeout_seconds=0.5) as served:
        ws = await websockets.connect(served["ws"], subprotocols=["graphql-transport-ws"])
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        try:
            async with asyncio.timeout(GUARD):
                await ws.wait_closed()
        finally:
            await ws.close()
        assert ws.close_code == 1001


# --- bodies and answers on a real server ---

async def converse(server: ServerProcess, steps: list[bytes | int | None]) -> list[bytes]:
    """On one connection: send each bytes step, read one answer's worth (None) or everything until the server
    closes the connection (-1); every read is returned."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    got: list[bytes] = []
    try:
        for step in steps:
            if step == -1:
                async with asyncio.timeout(GUARD):
                    got.append(await reader.read(-1))
            elif step is None:
                async with asyncio.timeout(GUARD):
                    got.append(await reader.readuntil(b"\r\n\r\n"))
                    length = [int(line.split(b":")[1]) for line in got[-1].split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length:
                        got[-1] += await reader.readexactly(length[0])
            elif isinstance(step, bytes):
                writer.write(step)
                await writer.drain()
    finally:
        writer.close()
    return got


START = b'{"service_type": 1, "contact_key": "k1"}'


def post_head(length: int, extra: bytes = b"") -> bytes:
    return (b"POST /services/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n" % length + extra + b"\r\n")


async def test_bodies_and_answers_on_a_real_server(tmp_path: Path, database_url: str):
    async with serve(tmp_path, database_url, "body_timeout_seconds = 0.5\n") as server:
        # A body with its head, twice on one connection: each answered whole (head and body).
        whole = await converse(server, [post_head(len(START)) + START, None, post_head(len(START)) + START, None])
        assert [status_of(a) for a in whole] == [201, 201]
        first, second = (json.loads(a.split(b"\r\n\r\n", 1)[1])["service_id"] for a in whole)
        assert second == first + 1 and b"\r\nlocation: /services/%d\r\n" % first in whole[0].lower()
        # A client that waits for "100 Continue" gets it before it sends the body (an answer with nothing
        # after it in the server's turn still goes out), then the answer.
        cont = await converse(server, [post_head(len(START), b"Expect: 100-continue\r\n"), None, START, None])
        assert cont[0].startswith(b"HTTP/1.1 100 ") and status_of(cont[1]) == 201
        # A body that stops coming: 408 after body_timeout_seconds.
        stalled = await converse(server, [post_head(len(START)) + START[:10], None])
        assert status_of(stalled[0]) == 408 and body_of(stalled[0])["code"] == 4080
        # A body that comes after its head, in time: answered.
        late = await converse(server, [post_head(len(START)) + START[:10], START[10:], None])
        assert status_of(late[0]) == 201




async def test_a_later_head_on_a_kept_connection_has_its_time_too(tmp_path: Path, database_url: str):
    async with serve(tmp_path, database_url, "header_timeout_seconds = 1\n") as server:
        # A whole request, then part of a second head on the same connection (sent later, or in the first
        # request's segment): the first is answered, and the connection is closed once the second head's time
        # is up instead of being held.
        for steps in ([HEAD + b"\r\n", None, HEAD + b"X-Slow: 1\r\n"], [HEAD + b"\r\n" + HEAD, None]):
            started = asyncio.get_running_loop().time()
            got = await converse(server, [*steps, -1])
            assert status_of(got[0]) == 200
            # Part of a head had come: the close is answered 408, as on a new connection.
            assert status_of(got[-1]) == 408 and body_of(got[-1])["code"] == 4080
            assert asyncio.get_running_loop().time() - started < 10


@contextlib.asynccontextmanager
async def writes_held(database_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock (SQLite) or the services table (PostgreSQL): a start waits for it."""
    if database_url.startswith("sqlite"):
        raw = sqlite3.connect(sqlite_path(database_url), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {service.name} IN EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_a_pipelined_head_waits_behind_the_answer_in_progress(tmp_path: Path, database_url: str):
    async with serve(tmp_path, database_url, "header_timeout_seconds = 1\n") as server:
        # A start that waits for the database, with part of a second head behind it in the same segment: the
        # head's time does not cut the start's answer short; the unfinished head is answered 408 after it.
        async with writes_held(database_url):
            talk = asyncio.create_task(converse(server, [post_head(len(START)) + START + HEAD + b"X-Slow: 1\r\n",
                                                         None, -1]))
            await asyncio.sleep(2.5)
            assert not talk.done()
        got = await talk
        assert status_of(got[0]) == 201, got
        assert status_of(got[1]) == 408 and body_of(got[1])["code"] == 4080


FILE = b"GET /graphiql/vendor/graphiql.min.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def answers_of(data: bytes) -> list[bytes]:
    """The answers one after the other in what a connection received (each head with its Content-Length body),
    then what follows the last whole answer, if anything."""
    out = []
    while b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        if not length or len(rest) < length[0]:
            break
        out.append(head + b"\r\n\r\n" + rest[:length[0]])
        data = rest[length[0]:]
    return [*out, data] if data else out


async def slow_reader(server: ServerProcess, first: bytes, then: bytes) -> bytes:
    """On one connection with a small receive buffer: send `first`, then `then` while the answers are held up
    by the client not reading, wait, then read everything until the server closes the connection."""
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        writer.write(first)
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.write(then)
        await writer.drain()
        await asyncio.sleep(1.5)  # the head time limit of `then` is up while the answers before it are held
        async with asyncio.timeout(GUARD):
            return await reader.read(-1)
    finally:
        writer.close()


async def test_a_refused_pipelined_head_is_answered_after_the_answers_before_it(tmp_path: Path, database_url: str):
    file = await asyncio.to_thread((STATIC / "vendor" / "graphiql.min.js").read_bytes)
    config = "max_header_count = 30\nheader_timeout_seconds = 1\n"
    async with serve(tmp_path, database_url, config) as server:
        # Two answers of a file sent in many parts (the second one streaming when the refused head is read),
        # then a head refused for its header count (431), one that is not HTTP (400) and one that does not
        # come whole in time (408): each refusal comes after both files, whole, never inside one of them.
        for refused, status in ((HEAD + b"".join(b"X-N%d: v\r\n" % n for n in range(40)) + b"\r\n", 431),
                                (b"BAD\x01 / HTTP/1.1\r\n\r\n", 400), (HEAD + b"X-Slow: 1\r\n", 408)):
            got = answers_of(await slow_reader(server, FILE + FILE, refused))
            assert [status_of(a) for a in got] == [200, 200, status], (status, [a[:200] for a in got])
            assert got[0].split(b"\r\n\r\n", 1)[1] == got[1].split(b"\r\n\r\n", 1)[1] == file


async def test_an_answer_before_the_whole_body_is_the_last_on_its_connection(tmp_path: Path, database_url: str):
    async def after_answer(server: ServerProcess, head: bytes) -> list[bytes]:
        # Part of a body, the answer, then a client that gives up on the body and sends its next request on
        # the same connection.
        return await converse(server, [head + START[:10], None, HEAD + b"\r\n", -1])

    def closing(answer: bytes) -> bool:
        return b"\r\nconnection: close\r\n" in answer.split(b"\r\n\r\n", 1)[0].lower() + b"\r\n"

    # Were the connection kept, the next request would be read as the rest of the body (its first 30 bytes)
    # and what follows as a head: it would be answered 400. The answer says the connection closes, and it does.
    await asyncio.to_thread((tmp_path / "body").mkdir)
    async with serve(tmp_path / "body", database_url, "body_timeout_seconds = 0.5\n") as server:
        got = await after_answer(server, post_head(len(START)))  # the body stops coming: 408
        assert status_of(got[0]) == 408 and closing(got[0]) and got[1] == b"", got
        # A refusal before the body is read, to a client waiting for "100 Continue" before it sends it.
        got = await after_answer(server, post_head(len(START), b"Expect: 100-continue\r\nX-Genesys-TenantId: x\r\n"))
        assert status_of(got[0]) == 400 and closing(got[0]) and got[1] == b"", got
        # A body that comes whole, in parts, keeps the connection.
        kept = await converse(server, [post_head(len(START)) + START[:10], START[10:], None, HEAD + b"\r\n", None])
        assert [status_of(a) for a in kept] == [201, 200] and not closing(kept[0])
    await asyncio.to_thread((tmp_path / "request").mkdir)
    config = "body_timeout_seconds = 5\nrequest_timeout_seconds = 0.5\n"
    async with serve(tmp_path / "request", database_url, config) as server:
        got = await after_answer(server, post_head(len(START)))  # the request's time limit while its body comes: 503
        assert status_of(got[0]) == 503 and closing(got[0]) and got[1] == b"", got


def chunked_post(body: bytes, trailers: bytes) -> bytes:
    """POST /services/start with `body` in one chunk, then a trailer section of the fields `trailers`."""
    return (b"POST /services/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailers + b"\r\n")


async def test_a_trailer_section_has_limits_of_its_own_and_never_reaches_the_application(tmp_path: Path,
                                                                                          database_url: str):
    limit = 4096
    fields = b"".join(b"X-T%d: v\r\n" % n for n in range(20))
    at_count = HEAD + b"".join(b"X-N%d: v\r\n" % n for n in range(29)) + b"\r\n"  # 30 fields: the limit
    at_count_last = at_count.replace(b"X-N28: v\r\n", b"Connection: close\r\n")
    thirty = b"".join(b"X-T%d: v\r\n" % n for n in range(30))

    def pad(size: int) -> bytes:
        """A trailer section of one field of `size` bytes as written."""
        return b"X-Pad: " + b"p" * (size - len(b"X-Pad: \r\n")) + b"\r\n"

    def refused(answers: list[bytes], words: str) -> bool:
        last = answers[-1]
        return status_of(last) == 431 and body_of(last)["code"] == 4310 and words in body_of(last)["description"]

    def service_id(answer: bytes) -> int:
        assert status_of(answer) == 201, answer
        return int(body_of(answer)["service_id"])

    async with serve(tmp_path, database_url, f"max_header_bytes = {limit}\nmax_header_count = 30\n") as server:
        # Trailer fields do not count toward the head of the request after them, sent after the answer or
        # pipelined in the same write; and a trailer section of 30 fields or of exactly the limit passes.
        got = await converse(server, [chunked_post(START, fields), None, at_count, None,
                                      chunked_post(START, thirty), None, at_count, None,
                                      chunked_post(START, pad(limit)), None, at_count, None])
        assert [status_of(a) for a in got] == [201, 200, 201, 200, 201, 200], got
        got = answers_of(await exchange(server, chunked_post(START, fields) + at_count_last))
        assert [status_of(a) for a in got] == [201, 200], got
        # A body of many chunks, the request sent in writes of 1000 bytes that end anywhere (in a chunk's size line,
        # in its data, in a trailer field): neither its data nor its trailers are taken for more than they are.
        body = START + b" " * 64 * 1024
        dribbled = chunked_post(START, b"")[:chunked_post(START, b"").index(b"\r\n\r\n") + 4] + b"".join(
            b"%x\r\n" % len(body[n:n + 9001]) + body[n:n + 9001] + b"\r\n" for n in range(0, len(body), 9001)
        ) + b"0\r\n" + fields + pad(limit - len(fields)) + b"\r\n"
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for n in range(0, len(dribbled), 1000):
                writer.write(dribbled[n:n + 1000])
                await writer.drain()
                await asyncio.sleep(0.002)
            writer.write(at_count_last)
            async with asyncio.timeout(GUARD):
                got = answers_of(await reader.read(-1))
        finally:
            writer.close()
        assert [status_of(a) for a in got] == [201, 200], got
        # A trailer field is not one of the request's headers: a trailer Host is not taken for the request's.
        got = await converse(server, [chunked_post(START, b"Host: evil.example\r\n"), None])
        first = service_id(got[0])
        # A trailer section over a limit is refused with 431 in place of the request's answer, and the request is
        # not carried out: 31 fields, one byte over, a field of a megabyte, and one behind a request in the same
        # write (that request is answered first).
        for trailers, words in ((thirty + b"X-T30: v\r\n", "more than 30 trailer fields"),
                                (pad(limit + 1), f"trailer section is larger than {limit} bytes"),
                                (pad(1024 * 1024), f"trailer section is larger than {limit} bytes")):
            got = answers_of(await exchange(server, chunked_post(START, trailers)))
            assert len(got) == 1 and refused(got, words), got
            got = answers_of(await exchange(server, HEAD + b"\r\n" + chunked_post(START, trailers)))
            assert [status_of(a) for a in got] == [200, 431] and refused(got, words), got
        # A trailer field that never ends, sent in many writes, is refused once its bytes are over the limit: the
        # server does not keep them waiting for its end.
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(chunked_post(START, b"")[:-2] + b"X-Endless: ")
            for _ in range(2 * limit // 512 + 2):
                await asyncio.sleep(0.01)
                writer.write(b"e" * 512)
                await writer.drain()
            async with asyncio.timeout(GUARD):
                got = answers_of(await reader.read(-1))
        finally:
            writer.close()
        assert len(got) == 1 and refused(got, f"trailer section is larger than {limit} bytes"), got
        # Bytes in a body that are not HTTP (a chunk size line that is not hexadecimal) are refused at once.
        got = answers_of(await exchange(server, chunked_post(START, b"").replace(b"\r\n0\r\n", b"\r\nzz\r\n")))
        assert [status_of(a) for a in got] == [400], got
        # None of the refused requests was carried out.
        got = await converse(server, [chunked_post(START, b""), None])
        assert service_id(got[0]) == first + 1


async def test_a_trailer_section_at_the_limit_passes_however_its_bytes_are_split(tmp_path: Path, database_url: str):
    """The bytes of a trailer section that has not ended are counted read by read: the end of its last field and
    the blank line that ends the section, come in reads of their own, are not taken for more than they are."""
    limit = 4096
    field = b"X-Pad: " + b"p" * (limit - len(b"X-Pad: \r\n")) + b"\r\n"  # a trailer section of exactly the limit
    body = START + b" " * limit  # the body's read is larger than the limit: it is measured
    request = chunked_post(body, field)
    cut = request.index(b"\r\n0\r\n") + 5
    async with serve(tmp_path, database_url, f"max_header_bytes = {limit}\n") as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for part in (request[:cut], field, b"\r", b"\n"):
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.write(HEAD + b"Connection: close\r\n\r\n")
            async with asyncio.timeout(GUARD):
                got = answers_of(await reader.read(-1))
        finally:
            writer.close()
        assert [status_of(a) for a in got] == [201, 200], got
