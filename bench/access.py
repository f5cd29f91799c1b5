"""Cost of access control: the slow hash, the cached check, and requests per second open vs signed in.

Run: .venv/bin/python -m bench.access
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
import time
from pathlib import Path

import httpx

from ucs_graphql.access.credentials import Authenticator
from ucs_graphql.access.directory import build_directory
from ucs_graphql.access.hashing import hash_secret, parse_hash, verify_secret
from ucs_graphql.config import load_settings
from ucs_graphql.db.migrate import upgrade
from ucs_graphql.web.app import create_app, create_runtime, start_runtime, stop_runtime

ROLE = {"name": "r", "tasks": ["UCS.SystemMgt.readServerInfo"]}
HEADER = "Basic " + base64.b64encode(b"ann:pw").decode()


async def _requests_per_second(url: str, config: str | None, n: int) -> float:
    overrides: dict[str, object] = {"database_url": url, "access_log": False}
    if config:
        overrides["config_file"] = config
    settings = load_settings(overrides, environ={})
    rt = create_runtime(settings)
    watcher = await start_runtime(rt)
    headers = {"Authorization": HEADER} if config else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, rt)),
                                 base_url="http://localhost") as client:
        await client.get("/server/status", headers=headers)  # first call pays the slow hash
        started = time.perf_counter()
        for _ in range(n):
            assert (await client.get("/server/status", headers=headers)).status_code == 200
        elapsed = time.perf_counter() - started
    await stop_runtime(rt, watcher)
    return n / elapsed


async def main() -> None:
    """Print the figures."""
    stored = hash_secret("pw")
    parsed = parse_hash(stored)
    started = time.perf_counter()
    for _ in range(10):
        verify_secret("pw", parsed)
    print(f"slow hash (scrypt ln=14, r=8): {(time.perf_counter() - started) * 100:.1f} ms per verification")

    auth = Authenticator(build_directory([ROLE], [{"name": "ann", "password_hash": stored, "roles": ["r"]}], []))
    await auth.authenticate(HEADER)
    n = 100_000
    started = time.perf_counter()
    for _ in range(n):
        await auth.authenticate(HEADER)
    print(f"cached check: {(time.perf_counter() - started) / n * 1e6:.2f} us per request "
          f"(slow hashes run: {auth.slow_checks})")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        config = Path(tmp) / "ucs.toml"
        config.write_text(f'[[roles]]\nname = "r"\ntasks = ["UCS.SystemMgt.readServerInfo"]\n'
                          f'[[users]]\nname = "ann"\npassword_hash = "{stored}"\nroles = ["r"]\n')
        await _requests_per_second(url, None, 500)  # warm-up
        rounds = [(await _requests_per_second(url, None, 3000), await _requests_per_second(url, str(config), 3000))
                  for _ in range(3)]
    open_rps = max(r[0] for r in rounds)
    auth_rps = max(r[1] for r in rounds)
    print(f"GET /server/status in process (best of 3): open {open_rps:.0f} req/s, "
          f"with Basic auth {auth_rps:.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
