"""`ucs-graphql serve` as a subprocess on a free port, for tests that need a real server (signals, fuzzing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.launch import launched


@dataclass
class ServerProcess:
    """A running server: its process, address and JSON log file."""

    proc: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    def log_records(self) -> list[dict]:
        """Every JSON log record written so far."""
        out = []
        for line in self.log_path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if isinstance(doc, dict):
                    out.append(doc)
        return out

    def access_records(self) -> list[dict]:
        """The access-log records (one per request the server started)."""
        return [doc for doc in self.log_records() if doc.get("logger") == "ucs.access"]

    async def access_records_of(self, url: str, count: int) -> list[dict]:
        """The access-log records of `url`, once there are `count` of them (the server writes its log lines a
        few milliseconds after the response, on a thread of its own), or those there are after 5 s."""
        for _ in range(100):
            found = [doc for doc in self.access_records() if doc.get("url") == url]
            if len(found) >= count:
                break
            await asyncio.sleep(0.05)
        return found


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, database_url: str, config: str = "") -> AsyncIterator[ServerProcess]:
    """Start the server with JSON logs and the access log on, wait until /readyz answers 200, kill it after."""
    settings = f'log_format = "json"\naccess_log = true\n{config}'
    async with launched(database_url, tmp_path, config=settings, kill=True) as server:
        yield ServerProcess(server.proc, server.url, server.log_path)


async def serve_several(
    stack: contextlib.AsyncExitStack, tmp_path: Path, database_url: str, count: int
) -> list[ServerProcess]:
    """`count` servers on one database, each in a folder of its own under tmp_path, stopped with `stack`."""
    servers = []
    for n in range(count):
        (tmp_path / str(n)).mkdir()
        servers.append(await stack.enter_async_context(serve(tmp_path / str(n), database_url)))
    return servers
