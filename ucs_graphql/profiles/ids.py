"""Customer ids: checked when given, generated (16 characters, e.g. `0TzK3v9aXbQ1r7Lm`) when absent."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from ucs_graphql.kit.errors import BadParameter
from ucs_graphql.kit.timefmt import now_utc, to_millis

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
MAX_LENGTH = 16
_RANDOM_SPAN = len(ALPHABET) ** 8
_ALLOWED = re.compile(r"[^\s/?#%\\]{1,16}\Z")


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def new_customer_id() -> str:
    """A fresh id: 8 characters of time (so ids sort roughly by creation) and 8 random ones (47 bits)."""
    return _base62(to_millis(now_utc()), 8) + _base62(secrets.randbelow(_RANDOM_SPAN), 8)


def check_customer_id(value: Any, param: str = "customer_id") -> str:
    """A given customer id: a string of 1 to 16 characters without spaces, '/', '?', '#', '%' or '\\'."""
    if not isinstance(value, str) or not value:
        raise BadParameter(param, f"'{value}' is not a customer id (a string of 1 to {MAX_LENGTH} characters)")
    if len(value) > MAX_LENGTH:
        raise BadParameter(param, f"'{value}' is longer than {MAX_LENGTH} characters")
    if not _ALLOWED.match(value):
        raise BadParameter(param, f"'{value}' may not contain spaces, '/', '?', '#', '%' or '\\'")
    return value
