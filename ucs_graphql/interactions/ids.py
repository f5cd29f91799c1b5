"""Generated interaction ids: 16 characters in the style of the reference (`00001a57JGQ00BW8`)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def new_interaction_id() -> str:
    """A new id: 8 characters of the millisecond clock (ids sort roughly by creation), 8 random ones."""
    return _base62(time.time_ns() // 1_000_000, 8) + "".join(secrets.choice(_ALPHABET) for _ in range(8))
