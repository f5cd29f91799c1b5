"""How answers leave a real server process: a response's head and body in one write (one segment for the
client to read, one system call for the server), on every request of a kept-alive connection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import websockets

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


async def test_a_websocket_upgrade_is_answered(tmp_path: Path, database_url: str):
    # An upgrade request makes no response cycle: the server switches protocols on the connection, on its first
    # request as well as after an answered one.
    async with serve(tmp_path, database_url) as server:
        url = server.base_url.replace("http://", "ws://") + "/graphql"
        async with asyncio.timeout(GUARD), websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}))
            assert json.loads(await ws.recv()) == {"id": "1", "type": "next",
                                                   "payload": {"data": {"__typename": "Query"}}}
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(REQUEST)
            async with asyncio.timeout(GUARD):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
                writer.write(b"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                             b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101 ")
        finally:
            writer.close()


async def test_a_head_request_gets_its_head_on_a_kept_alive_connection(tmp_path: Path, database_url: str):
    # A HEAD answer has no body to carry its head: the head still leaves, and the next request is answered after.
    async with serve(tmp_path, database_url) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + REQUEST)
            async with asyncio.timeout(GUARD):
                first = await reader.readuntil(b"\r\n\r\n")
                assert first.startswith(b"HTTP/1.1 "), first
                second = await reader.readuntil(b"\r\n\r\n")
                assert second.startswith(b"HTTP/1.1 200 "), second
        finally:
            writer.close()
