"""Lists of ids in `IN (...)` go to the database in chunks: PostgreSQL takes at most 32,767 parameters in
a statement (more is a protocol error, not a refusal), SQLite a build-dependent number, and one statement
with hundreds of thousands of parameters holds the event loop while it is built and bound."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_CHUNK = 1000
"""Most ids one `IN (...)` of a statement takes."""


def chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in their order (nothing for no values)."""
    items: Sequence[T] = values if isinstance(values, list | tuple) else list(values)
    for i in range(0, len(items), size):
        yield list(items[i:i + size])
