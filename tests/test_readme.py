"""The README's commands work as written for someone who has just cloned the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_calls_the_command_where_make_installs_it():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    commands = [c for block in blocks for c in re.findall(r"(?:^|\|\s*)(\S*ucs-graphql)\b", block, re.M)]
    assert commands and all(c == ".venv/bin/ucs-graphql" for c in commands), commands
    # The block that uses it first installs it, with a target the Makefile has.
    assert text.index("make install") < text.index(".venv/bin/ucs-graphql hash-password")
    assert re.search(r"^install: \$\(STAMP\)$", (ROOT / "Makefile").read_text(), re.M)
    assert "## Two commands" in text and "make run " in text and "make test " in text
