"""`ucs-graphql serve` as a subprocess on a free port, for tests that need a real server (signals, fuzzing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.net import free_port

START_GUARD_SECONDS = 60



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


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, database_url: str, config: str = "") -> AsyncIterator[ServerProcess]:
    """Start the server with JSON logs and the access log on, wait until /readyz answers 200, kill it after."""
    port = free_port()
    config_path = tmp_path / "ucs.toml"
    config_path.write_text(f'log_format = "json"\naccess_log = true\n{config}')
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ucs_graphql.cli", "serve", "--port", str(port), "--database", database_url,
            "--config", str(config_path), stdout=log, stderr=log)
    server = ServerProcess(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as client, asyncio.timeout(START_GUARD_SECONDS):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                assert proc.returncode is None, log_path.read_text()
                await asyncio.sleep(0.1)
        yield server
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
