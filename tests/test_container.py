"""The container image, read from the Dockerfile (no engine here), and the start its command makes."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from ucs_graphql import cli, config
from ucs_graphql.access.hashing import hash_secret

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, args = pending.strip().partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def argv(args: str) -> list[str]:
    """The words of an exec-form (JSON array) or shell-form argument list."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for keyword, args in instructions():
        if keyword == "ENV":
            out.update(word.split("=", 1) for word in shlex.split(args))  # type: ignore[misc]
    return out


def index(keyword: str, contains: str = "") -> int:
    return next(i for i, (k, a) in enumerate(instructions()) if k == keyword and contains in a)


def test_the_image_runs_as_an_unprivileged_user():
    users = [a for k, a in instructions() if k == "USER"]
    assert users, "no USER instruction: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert index("USER") < index("CMD")
    # The user the image names is the one it creates, and it owns the data folder.
    created = next(a for k, a in instructions() if k == "RUN" and "useradd" in a)
    assert f"--uid {user}" in created and "chown ucs:ucs /data" in created


def test_the_data_volume_is_declared_and_holds_the_database():
    volumes = [v for k, a in instructions() if k == "VOLUME" for v in argv(a)]
    assert "/data" in volumes
    assert env()["UCS_DATABASE_URL"] == "sqlite:////data/ucs.db"


def test_a_healthcheck_asks_the_liveness_path():
    checks = [a for k, a in instructions() if k == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0] and " CMD " in f" {checks[0]} "
    assert "--interval=" in checks[0] and "--timeout=" in checks[0]


def test_dependencies_are_installed_before_the_source_is_copied():
    deps = index("RUN", "pip install --no-cache-dir -c constraints.txt -r")
    first_source = min(index("COPY", "ucs_graphql"), index("COPY", "rest_compat"))
    assert index("COPY", "pyproject.toml") < deps < first_source
    copied_before = [a for k, a in instructions()[:deps] if k == "COPY"]
    # The dependency layer depends on nothing else, and installs the pinned versions.
    assert copied_before == ["pyproject.toml constraints.txt ./"]
    assert "--no-deps" in instructions()[index("RUN", "pip install --no-cache-dir --no-deps")][1]


def test_the_command_opens_nothing_and_the_documented_mount_point_is_the_default():
    command = argv(next(a for k, a in instructions() if k == "CMD"))
    assert command[:2] == ["ucs-graphql", "serve"] and "--allow-open-network" not in command
    assert "UCS_CONFIG" not in env()  # the default file is read; an operator's UCS_CONFIG still wins
    text = (ROOT / "Dockerfile").read_text()
    assert config.DEFAULT_CONFIG_FILE in text
    assert config.DEFAULT_CONFIG_FILE in (ROOT / "docs" / "operations.md").read_text()


@pytest.fixture
def container(tmp_path, monkeypatch):
    """The image's environment and command, with its mount point and data volume in tmp_path; returns
    (the mounted configuration's path, a function running the command that returns (exit code, uvicorn starts))."""
    mounted = tmp_path / "etc" / "ucs.toml"
    mounted.parent.mkdir()
    monkeypatch.setattr(config, "DEFAULT_CONFIG_FILE", str(mounted))
    for name in ("UCS_CONFIG", "UCS_HOST", "UCS_PORT", "UCS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UCS_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'ucs.db'}")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv(cli.SETTINGS_ENV, "{}")
    import uvicorn

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    command = argv(next(a for k, a in instructions() if k == "CMD"))

    def run() -> tuple[int, list[dict]]:
        return cli.main(command[1:]), started

    return mounted, run


def test_the_image_without_a_configuration_refuses_to_serve_open(container, capsys):
    _, run = container
    code, started = run()
    assert code == 2 and not started
    assert "refusing to listen on 0.0.0.0 without users" in capsys.readouterr().err


def test_a_mounted_configuration_is_read_without_being_named(container, capsys):
    mounted, run = container
    mounted.write_text(
        '[[roles]]\nname = "r"\ntasks = ["UCS.SystemMgt.readServerInfo"]\n'
        f'[[users]]\nname = "ann"\npassword_hash = "{hash_secret("pw", ln=4)}"\nroles = ["r"]\n')
    code, started = run()
    assert code == 0 and started[0]["host"] == "0.0.0.0" and started[0]["port"] == 8080
    assert f"configuration {mounted}" in capsys.readouterr().err  # the operator sees which file was read
    # Worker processes are told which file the parent read.
    assert json.loads(os.environ[cli.SETTINGS_ENV])["config_file"] == str(mounted)


def test_the_image_serves_open_only_when_its_configuration_says_so(container):
    mounted, run = container
    mounted.write_text("[security]\nallow_open_network = true\n")
    code, started = run()
    assert code == 0 and started[0]["host"] == "0.0.0.0"


async def _healthcheck(port: int) -> int:
    import asyncio
    import sys

    words = argv(next(a for k, a in instructions() if k == "HEALTHCHECK").split(" CMD ", 1)[1])
    assert words[0] == "python"
    proc = await asyncio.create_subprocess_exec(sys.executable, *words[1:], env={**os.environ, "UCS_PORT": str(port)},
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(proc.wait(), 30)


async def test_the_healthcheck_passes_on_a_live_server_and_fails_without_one(database_url):
    from bench.net import free_port
    from tests.test_subscriptions import served_app

    async with served_app(database_url) as served:
        assert await _healthcheck(int(served["http"].rsplit(":", 1)[1])) == 0
    assert await _healthcheck(free_port()) != 0
