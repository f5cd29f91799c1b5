"""The configuration file: unknown keys are refused with the nearest valid one; the documented examples load."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ucs_graphql.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _load(tmp_path: Path, text: str, **kw):
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(text)
    return load_settings({"config_file": str(cfg)}, environ={}, **kw)


@pytest.mark.parametrize("text, message", [
    ('impotr_dir = "x"', "unknown key 'impotr_dir' at the top level; did you mean 'import_dir'?"),
    ('[limits]\nmax_body_byte = 1', "unknown key 'max_body_byte' in [limits]; did you mean 'max_body_bytes'?"),
    ('[graphql]\nmax_dept = 3', "unknown key 'max_dept' in [graphql]; did you mean 'max_depth'?"),
    ('[database]\nulr = "sqlite:///x.db"', "unknown key 'ulr' in [database]; did you mean 'url'?"),
    ('[log]\nfromat = "json"', "unknown key 'fromat' in [log]; did you mean 'format'?"),
    ('[graphq]\nmax_depth = 3', "unknown section [graphq]; did you mean [graphql]?"),
    ('[[roles]]\nname = "r"\ntask = []', "unknown key 'task' in [[roles]] entry 1 ('r'); did you mean 'tasks'?"),
    ('[[users]]\nname = "ann"\npasword_hash = "x"',
     "unknown key 'pasword_hash' in [[users]] entry 1 ('ann'); did you mean 'password_hash'?"),
    ('[[tokens]]\nname = "t"\nuser = "ann"\ntoken_hsh = "x"',
     "unknown key 'token_hsh' in [[tokens]] entry 1 ('t'); did you mean 'token_hash'?"),
    ('[[profile_attributes]]\nname = "A"\ntype = "string"\nlenght = 3',
     "unknown key 'lenght' in [[profile_attributes]] entry 1 ('A'); did you mean 'length'?"),
    ('[[business_attributes]]\nname = "B"\ndisplayname = "b"',
     "unknown key 'displayname' in [[business_attributes]] entry 1 ('B'); did you mean 'display_name'?"),
    ('[[business_attributes]]\nname = "B"\nvalues = [{name = "v", dbidd = 1}]', "unknown key 'dbidd'"),
    # The documentation's former example: a top-level setting written below [[roles]] belongs to the role.
    ('[[roles]]\nname = "agents"\ntasks = []\n\nimport_dir = "./var/import"',
     "unknown key 'import_dir' in [[roles]] entry 1 ('agents'); 'import_dir' is a top-level setting"),
])
def test_unknown_keys_are_refused_with_the_nearest_valid_one(tmp_path, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _load(tmp_path, text)


def test_known_keys_in_sections_and_entries_load(tmp_path):
    settings = _load(tmp_path, """
import_dir = "/srv/import"
[database]
url = "sqlite:///./x.db"
[graphql]
max_depth = 7
[log]
format = "json"
[security]
allow_open_network = true
[[roles]]
name = "r"
dbid = 7
enabled = true
tasks = ["UCS.SystemMgt.readServerInfo"]
[[business_attributes]]
name = "B"
dbid = 1
values = [{name = "v", dbid = 1, display_name = "V", description = "v"}]
""")
    assert settings.import_dir == "/srv/import" and settings.graphql_max_depth == 7
    assert settings.database_url == "sqlite:///./x.db" and settings.log_format == "json"
    assert settings.allow_open_network and settings.roles[0]["dbid"] == 7


def _toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", sorted(p.name for p in (ROOT / "docs").glob("*.md") if _toml_blocks(p)))
def test_every_documented_example_is_a_valid_configuration(tmp_path, doc):
    for block in _toml_blocks(ROOT / "docs" / doc):
        tomllib.loads(block)  # a documentation example is TOML
        _load(tmp_path, block)  # ... with no unknown key, whatever section it sits in


def test_the_default_file_is_read_when_no_other_is_named(tmp_path):
    default = tmp_path / "ucs.toml"
    default.write_text('import_dir = "/from/default"\n')
    assert load_settings({}, environ={}, default_config=str(default)).import_dir == "/from/default"
    assert load_settings({}, environ={}, default_config=str(default)).config_file == str(default)
    other = tmp_path / "other.toml"
    other.write_text('import_dir = "/from/other"\n')
    named = load_settings({}, environ={"UCS_CONFIG": str(other)}, default_config=str(default))
    assert named.import_dir == "/from/other"
    absent = load_settings({}, environ={}, default_config=str(tmp_path / "absent.toml"))
    assert absent.config_file is None and absent.import_dir == "./var/import"


def test_allow_open_network_comes_from_the_file_only(tmp_path):
    assert not load_settings({}, environ={"UCS_ALLOW_OPEN_NETWORK": "true"}, default_config="").allow_open_network
    assert _load(tmp_path, "[security]\nallow_open_network = true\n").allow_open_network
