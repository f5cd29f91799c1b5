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


def padded(values: Sequence[T]) -> tuple[T, ...]:
    """Non-empty `values` (at most IN_CHUNK) padded to a power of two, or to IN_CHUNK, by repeating the last
    one: a statement built once for an `IN` of that many parameters then serves every count up to it (an
    `IN` list ignores the repeats), so a statement run on the driver has at most 11 sizes."""
    size = min(1 << (len(values) - 1).bit_length(), IN_CHUNK)
    return (*values, *(values[-1],) * (size - len(values)))
