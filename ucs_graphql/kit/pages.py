"""Pages of a keyset-ordered list: a size (bounded) and an opaque cursor naming the last item already seen.

A cursor is the base64 of "kind:key..." (`encode`); its content is not a promise to clients, only that a
cursor given back as `after` continues after the item it was read from.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ucs_graphql.kit.errors import BadParameter

MAX_PAGE = 100
"""The largest page a connection answers (`first` above it is the client's BadParameter)."""
DEFAULT_PAGE = MAX_PAGE
"""The page size when `first` is absent (the schema shows it as the default, which the cost limit counts)."""


@dataclass(frozen=True)
class Page:
    """At most `first` items after the item whose key is `after` (None: from the start)."""

    first: int
    after: tuple[str, ...] | None = None


_FROM_START = [Page(size) for size in range(MAX_PAGE + 1)]  # made once: pages are frozen, asked per request


def encode(kind: str, *key: object) -> str:
    """The opaque cursor of an item of `kind` with this key."""
    return base64.b64encode(":".join((kind, *map(str, key))).encode()).decode("ascii")


def page(kind: str, first: int | None, after: str | None, *, parts: int = 1) -> Page:
    """The page asked for by `first` and `after` (a cursor of `kind` whose key has `parts` parts)."""
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise BadParameter("first", f"'{size}' is not between 0 and {MAX_PAGE}")
    if after is None:
        return _FROM_START[size]
    try:
        text = base64.b64decode(after.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise BadParameter("after", f"'{after}' is not a cursor of this list") from exc
    got = text.split(":", parts)
    if len(got) != parts + 1 or got[0] != kind:
        raise BadParameter("after", f"'{after}' is not a cursor of this list")
    return Page(size, tuple(got[1:]))


def int_key(p: Page, index: int = 0) -> int | None:
    """Part `index` of the cursor's key as an integer (None without a cursor)."""
    if p.after is None:
        return None
    try:
        return int(p.after[index])
    except ValueError as exc:
        raise BadParameter("after", "not a cursor of this list") from exc
