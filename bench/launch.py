"""`ucs-graphql serve` as a child process, for the benchmarks and the tests that need a real server."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.net import free_port

READY_SECONDS = 60.0


@dataclass
class Launched:
    """A server started by `launched`: its process, base URL and output file."""

    proc: asyncio.subprocess.Process
    url: str
    log_path: Path


@contextlib.asynccontextmanager
async def launched(database: str, folder: Path, *, config: str | None = None, workers: int | None = None,
                   kill: bool = False) -> AsyncIterator[Launched]:
    """`ucs-graphql serve` on `database` and a free port, writing its output to folder/server.log (and `config`,
    when given, to folder/ucs.toml); yields once /readyz answers 200 and stops it when the block ends (SIGTERM,
    or SIGKILL with `kill`). A server that exits before it is ready raises RuntimeError with its output."""
    port = free_port()
    args = ["--port", str(port), "--database", database]
    if workers is not None:
        args += ["--workers", str(workers)]
    if config is not None:
        (folder / "ucs.toml").write_text(config)
        args += ["--config", str(folder / "ucs.toml")]
    log_path = folder / "server.log"
    with log_path.open("w") as out:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ucs_graphql.cli", "serve", *args,
                                                    stdout=out, stderr=out)
    server = Launched(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http, asyncio.timeout(READY_SECONDS):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                if proc.returncode is not None:
                    raise RuntimeError(f"the server exited with status {proc.returncode} before it was ready:\n"
                                       + log_path.read_text()[-4000:])
                await asyncio.sleep(0.1)
        yield server
    finally:
        if proc.returncode is None:
            proc.kill() if kill else proc.terminate()
            await proc.wait()
