"""Start-up rules of access control: configuration checks, the open-server rule, hashes and the CLI."""

from __future__ import annotations

import io
import logging
import re

import pytest

from ucs_graphql import cli
from ucs_graphql.access.directory import build_directory
from ucs_graphql.access.exposure import is_loopback
from ucs_graphql.access.hashing import BadHash, hash_secret, parse_hash, verify_secret
from ucs_graphql.access.redact import RedactingFilter, redact
from ucs_graphql.config import ConfigError, Settings
from ucs_graphql.web.app import create_runtime

CHEAP = hash_secret("pw", ln=4)
USER = {"name": "ann", "password_hash": CHEAP, "roles": ["r"]}
ROLE = {"name": "r", "tasks": ["UCS.SystemMgt.readServerInfo"]}


def test_hashes_are_salted_slow_and_verified():
    first, second = hash_secret("pw"), hash_secret("pw")
    assert first != second and first.startswith("$scrypt$ln=14,r=8,p=1$")
    parsed = parse_hash(first)
    assert not parsed.weak and parse_hash(CHEAP).weak
    assert verify_secret("pw", parsed) and not verify_secret("pW", parsed)
    for bad in ("pw", "$scrypt$ln=14$x$y", "$md5$i=1$abc$def", "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$" + "A" * 43):
        with pytest.raises(BadHash):
            parse_hash(bad)


def test_pbkdf2_hashes_are_read_too():
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000)
    text = f"$pbkdf2-sha256$i=1000${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_secret("pw", parse_hash(text)) and parse_hash(text).weak


@pytest.mark.parametrize("roles, users, tokens, message", [
    ([ROLE], [{**USER, "password": "pw"}], [], "clear secret"),
    ([ROLE], [{**USER, "roles": ["nope"]}], [], "unknown role 'nope'"),
    ([{"name": "r", "tasks": ["UCS.SystemMgt.readServerInf"]}], [USER], [], "did you mean 'UCS.SystemMgt.readServerInfo'"),
    ([ROLE, ROLE], [USER], [], "defined twice"),
    ([ROLE], [USER, USER], [], "defined twice"),
    ([ROLE], [{**USER, "password_hash": "plain"}], [], "hash-password"),
    ([ROLE], [{**USER, "name": "a:b"}], [], "':'"),
    ([ROLE], [{**USER, "tenants": [0]}], [], "positive tenant ids"),
    ([ROLE], [USER], [{"name": "t", "user": "bob", "token_hash": CHEAP}], "unknown user 'bob'"),
    ([ROLE], [USER], [{"name": "t.x", "user": "ann", "token_hash": CHEAP}], "letters, digits"),
    ([ROLE], [USER], [{"name": "t", "user": "ann"}], "token_hash"),
    ([ROLE], [], [{"name": "t", "user": "ann", "token_hash": CHEAP}], "unknown user"),
])
def test_configuration_mistakes_stop_the_start(roles, users, tokens, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_directory(roles, users, tokens)


def test_loopback_hosts():
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.3.2.1"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "ucs.example.com"))


def test_open_server_refuses_a_network_address_unless_allowed(caplog):
    with pytest.raises(ConfigError, match=re.escape("allow_open_network = true under [security]")):
        create_runtime(Settings(host="0.0.0.0"))
    with caplog.at_level(logging.WARNING):
        create_runtime(Settings(host="0.0.0.0", allow_open_network=True))
    assert "NO USERS ARE CONFIGURED" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rt = create_runtime(Settings(host="0.0.0.0", roles=(ROLE,), users=(USER,)))
    assert "NO USERS" not in caplog.text
    assert not rt.parts["gate"].open and "authorize_route" in rt.parts


def test_serve_refuses_before_touching_the_database(tmp_path, capsys, monkeypatch):
    db = tmp_path / "never.db"
    code = cli.main(["serve", "--host", "0.0.0.0", "--database", f"sqlite:///{db}"])
    assert code == 2
    assert "allow_open_network = true under [security]" in capsys.readouterr().err
    assert not db.exists()


@pytest.fixture
def uvicorn_runs(monkeypatch) -> list[dict]:
    """uvicorn.run replaced by a recorder: the keyword arguments of every start."""
    import uvicorn

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    monkeypatch.setenv(cli.SETTINGS_ENV, "{}")
    return started


def test_serve_refuses_the_open_network_when_only_the_flag_says_so(tmp_path, capsys, uvicorn_runs):
    db = tmp_path / "ucs.db"
    code = cli.main(["serve", "--host", "0.0.0.0", "--allow-open-network", "--database", f"sqlite:///{db}"])
    assert code == 2 and not uvicorn_runs and not db.exists()
    assert "--allow-open-network alone does not open the server" in capsys.readouterr().err
    # Nor with a configuration file that does not say so.
    cfg = tmp_path / "ucs.toml"
    cfg.write_text('[security]\nallow_open_network = false\n')
    code = cli.main(["serve", "--host", "0.0.0.0", "--allow-open-network", "--config", str(cfg),
                     "--database", f"sqlite:///{db}"])
    assert code == 2 and not uvicorn_runs and not db.exists()


def test_serve_opens_the_network_when_the_configuration_says_so(tmp_path, uvicorn_runs):
    cfg = tmp_path / "ucs.toml"
    cfg.write_text('[security]\nallow_open_network = true\n')
    code = cli.main(["serve", "--host", "0.0.0.0", "--config", str(cfg), "--database",
                     f"sqlite:///{tmp_path / 'ucs.db'}"])
    assert code == 0 and uvicorn_runs[0]["host"] == "0.0.0.0"


def test_hash_password_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert cli.main(["hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_secret("s3cret", parse_hash(printed))


def test_hash_password_makes_a_token_with_its_entry(capsys):
    assert cli.main(["hash-password", "--token", "ivr-01", "--user", "ivr"]) == 0
    out = capsys.readouterr().out
    token = next(line for line in out.splitlines() if line.startswith("ivr-01."))
    stored = re.search(r'token_hash = "([^"]+)"', out)
    assert stored and verify_secret(token, parse_hash(stored.group(1)))
    directory = build_directory([ROLE], [{"name": "ivr", "roles": ["r"]}],
                                [{"name": "ivr-01", "user": "ivr", "token_hash": stored.group(1)}])
    assert directory.tokens["ivr-01"].principal.name == "ivr"


def test_redaction_masks_credentials_in_any_log_line():
    line = ('GET /x?password=a1&token=b2&q=1 Authorization: Basic YW5uOnB3 bearer ivr.zzzz '
            '{"password": "c3", "token_hash": "$scrypt$..."}')
    masked = redact(line)
    for secret in ("a1", "b2", "YW5uOnB3", "ivr.zzzz", "c3", "$scrypt"):
        assert secret not in masked
    assert "q=1" in masked
    record = logging.LogRecord("ucs", logging.INFO, __file__, 1, "login %s", ("Bearer abcdef123",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "login Bearer ***"
