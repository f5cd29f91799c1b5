"""Fuzzing in the suite: schemathesis against /openapi.json and /graphql of a fresh `ucs-graphql serve`.

No 5xx, and every status, content type, header and body as the OpenAPI document declares; GraphQL answers
never carry an internal error. The number of examples is bounded to keep each run short; UCS_FUZZ_EXAMPLES
and UCS_FUZZ_SEED change them (the seed is printed on failure, `st run ... --seed N` replays a run).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import wipe
from tests.server_process import serve

REPO = Path(__file__).resolve().parent.parent
ST = Path(sys.executable).parent / "st"
EXAMPLES = os.environ.get("UCS_FUZZ_EXAMPLES", "8")
SEED = os.environ.get("UCS_FUZZ_SEED", "20240601")
RUN_GUARD_SECONDS = 240

REST_CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability",
])
TARGETS = {
    "openapi": ("/openapi.json", ["--checks", REST_CHECKS, "--phases", "coverage,fuzzing,stateful"]),
    "graphql": ("/graphql", ["--checks", "graphql_no_internal_error,response_schema_conformance"]),
}


async def schemathesis(url: str, options: list[str], cwd: Path) -> tuple[int, str]:
    """Run `st run` and return its exit status and output."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        str(ST), "run", url, "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1",
        "--request-timeout", "20", "--warnings", "off", "--no-color", *options,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    async with asyncio.timeout(RUN_GUARD_SECONDS):
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace")


@pytest.mark.parametrize("target", list(TARGETS))
async def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(database_url, tmp_path, target):
    path, options = TARGETS[target]
    await wipe(database_url)
    try:
        async with serve(tmp_path, database_url) as server:
            status, output = await schemathesis(server.base_url + path, options, tmp_path)
            server_errors = [r for r in server.access_records() if r.get("status", 0) >= 500]
            tracebacks = [r for r in server.log_records() if "exception" in r]
    finally:
        await wipe(database_url)
    assert status == 0, output[-20000:]
    assert "Test cases:" in output, output[-5000:]
    assert not server_errors, server_errors[:5]
    assert not tracebacks, tracebacks[:2]
