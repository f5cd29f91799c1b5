"""Global ids (the convention client caches such as Apollo's and Relay's normalise by): every entity type
implements the `Node` interface, whose `id` is the base64 of "Type:key" (`ucs_graphql.kit.pages.encode`),
unique across types and stable; `parse` reads one back for the root `node` field.

The compiled plans (ucs_graphql.graphql.compiled) run documents that select these types as before: they
check an object's type as graphql-core does for a type behind an interface. A document selecting the
`Node` interface itself (the `node` field) keeps the full path."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import strawberry

from ucs_graphql.access import tasks as t
from ucs_graphql.kit.errors import BadParameter
from ucs_graphql.kit.pages import encode
from ucs_graphql.metadata.model import INT32, INT64


@strawberry.interface(description="An object with a global id: `node(id:)` fetches it again (the Relay "
                                  "convention client caches rely on).")
class Node:
    @strawberry.field(description="A global id, unique across types and stable (opaque): client caches key "
                                  "objects by it, and `node(id:)` reads the object again.")
    def id(self) -> strawberry.ID:
        kind, *key = self.node_key()
        return strawberry.ID(encode(str(kind), *key))

    def node_key(self) -> tuple[object, ...]:
        """(type name, key parts) of the object."""
        raise NotImplementedError


@dataclass(frozen=True)
class Kind:
    """A type of object a global id can name: its key's parts (None for text, else the largest id a
    non-negative integer part can hold) and the task of the REST read of one such object (what its own root
    field needs: `profile`, `service`, `state`, `task`, `interaction`)."""

    key: tuple[int | None, ...]
    task: str


_TEXT = None
KINDS: dict[str, Kind] = {
    "Profile": Kind((_TEXT,), t.READ_PROFILE),
    "Service": Kind((INT64[1],), t.READ_SERVICE),
    "State": Kind((INT64[1], INT32[1]), t.READ_STATE),
    "Task": Kind((INT64[1], INT32[1]), t.READ_TASK),
    "Interaction": Kind((_TEXT,), t.READ_INTERACTION),
}
"""Global id kind (the GraphQL type, or interface for interactions) → its key and read task."""


def parse(global_id: str) -> tuple[str, tuple[str | int, ...]]:
    """(kind, key) of a global id; BadParameter when it is not the id of any kind of object (only the one
    form `id` answers is taken, so an object has one id)."""
    try:
        text = base64.b64decode(global_id.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _malformed(global_id) from exc
    kind_name, _, rest = text.partition(":")
    kind = KINDS.get(kind_name)
    if kind is None:
        raise _malformed(global_id)
    parts = rest.split(":", len(kind.key) - 1)
    if len(parts) != len(kind.key):
        raise _malformed(global_id)
    key: list[str | int] = []
    for part, highest in zip(parts, kind.key, strict=True):
        if highest is None:
            key.append(part)
            continue
        if not part.isascii() or not part.isdigit() or len(part) > len(str(highest)) or int(part) > highest:
            raise _malformed(global_id)
        key.append(int(part))
    if encode(kind_name, *key) != global_id:
        raise _malformed(global_id)
    return kind_name, tuple(key)


def kinds_of(global_ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The distinct kinds the ids name, in first-seen order; BadParameter for any malformed one."""
    return tuple(dict.fromkeys(parse(g)[0] for g in global_ids))


def _malformed(global_id: str) -> BadParameter:
    return BadParameter("id", f"'{global_id[:100]}' is not the id of any object")
