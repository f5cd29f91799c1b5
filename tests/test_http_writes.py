"""How answers leave a real server process: a response's head and body in one write (one segment for the
client to read, one system call for the server), on every request of a kept-alive connection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.server_process import serve

GUARD = 30  # seconds a socket waits for the server before the test fails
QUERY = json.dumps({"query": "{ __typename }"}).encode()
REQUEST = (b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
           + str(len(QUERY)).encode() + b"\r\n\r\n" + QUERY)


async def test_head_and_body_leave_in_one_write(tmp_path: Path, database_url: str):
    async with serve(tmp_path, database_url) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(20):
                writer.write(REQUEST)
                await writer.drain()
                async with asyncio.timeout(GUARD):
                    first = await reader.read(65536)
                # What the first read finds is the whole answer: its head, and the body its head announces.
                head, _, body = first.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200 "), first
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                assert len(body) == length, first
                assert json.loads(body) == {"data": {"__typename": "Query"}}
                await asyncio.sleep(0.02)
        finally:
            writer.close()
