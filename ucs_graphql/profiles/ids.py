"""Customer ids: checked when given, generated (16 characters, e.g. `0TzK3v9aXbQ1r7Lm`) when absent."""

from __future__ import annotations

import os
import re
import string
import threading
import time
from typing import Any

from ucs_graphql.kit.errors import BadParameter

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
MAX_LENGTH = 16
_ALLOWED = re.compile(r"[^\s/?#%\\]{1,16}\Z")


# Every pair of digits, so that 8 digits take 4 steps (ids are made for every imported row).
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]
_PAIR_SPAN = len(_PAIRS)


def _base62_8(n: int) -> str:
    """The last 8 base-62 digits of `n`, zero-padded."""
    n, d = divmod(n, _PAIR_SPAN)
    n, c = divmod(n, _PAIR_SPAN)
    n, b = divmod(n, _PAIR_SPAN)
    a = n % _PAIR_SPAN
    return _PAIRS[a] + _PAIRS[b] + _PAIRS[c] + _PAIRS[d]


class _Entropy:
    """47-bit random numbers (below 62**8) from the operating system's generator, read for 512 at a time: one
    system call per 512 ids instead of one per id (a bulk import makes an id for every row)."""

    SIZE = 6 * 512

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._at = 0

    def draw(self) -> int:
        with self._lock:
            if self._at >= len(self._buf):
                self._buf, self._at = os.urandom(self.SIZE), 0
            at = self._at
            self._at = at + 6
            return int.from_bytes(self._buf[at:at + 6], "big") >> 1

    def forget(self) -> None:
        """Drop what was read (a forked process must not draw the numbers its parent draws)."""
        self._buf, self._at = b"", 0


_entropy = _Entropy()
os.register_at_fork(after_in_child=_entropy.forget)


_prefix: tuple[int, str] = (-1, "")  # the last millisecond and its 8 characters


def new_customer_id() -> str:
    """A fresh id: 8 characters of time (so ids sort roughly by creation) and 8 random ones (47 bits)."""
    global _prefix
    ms = time.time_ns() // 1_000_000
    last = _prefix
    if last[0] != ms:
        last = _prefix = (ms, _base62_8(ms))
    return last[1] + _base62_8(_entropy.draw())


def check_customer_id(value: Any, param: str = "customer_id") -> str:
    """A given customer id: a string of 1 to 16 characters without spaces, '/', '?', '#', '%' or '\\'."""
    if not isinstance(value, str) or not value:
        raise BadParameter(param, f"'{value}' is not a customer id (a string of 1 to {MAX_LENGTH} characters)")
    if len(value) > MAX_LENGTH:
        raise BadParameter(param, f"'{value}' is longer than {MAX_LENGTH} characters")
    if not _ALLOWED.match(value):
        raise BadParameter(param, f"'{value}' may not contain spaces, '/', '?', '#', '%' or '\\'")
    return value
