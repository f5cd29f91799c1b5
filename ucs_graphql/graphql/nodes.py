"""Global ids (the convention client caches such as Apollo's and Relay's normalise by): every entity type has
an `id`, the base64 of "Type:key" (`ucs_graphql.kit.pages.encode`), unique across types and stable.

A base type whose field its subclasses copy, not a GraphQL interface: a type behind an interface would leave
the compiled plans (ucs_graphql.graphql.compiled) for the slower full path."""

from __future__ import annotations

import strawberry

from ucs_graphql.kit.pages import encode


@strawberry.type
class GlobalId:
    @strawberry.field(description="A global id, unique across types and stable (opaque): client caches key "
                                  "objects by it.")
    def id(self) -> strawberry.ID:
        kind, *key = self.node_key()
        return strawberry.ID(encode(str(kind), *key))

    def node_key(self) -> tuple[object, ...]:
        """(type name, key parts) of the object."""
        raise NotImplementedError
