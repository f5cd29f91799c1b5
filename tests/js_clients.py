"""The JavaScript clients of tests/js/, installed with `npm ci` from the committed package-lock.json when
they are missing or stale. Node.js and npm must be installed (Debian's `nodejs` and `npm`; `make test`
installs them): a missing one fails the tests that need them, it never skips them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"


def node_and_clients() -> str:
    """The path of `node`, after installing tests/js/node_modules when needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the JavaScript client tests need Node.js and npm: install Debian's nodejs and npm "
                    "(make test does: apt-get install nodejs npm)")
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    lock = JS_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            pytest.fail(f"npm ci in {JS_DIR} failed:\n{done.stdout}\n{done.stderr}")
    return node
