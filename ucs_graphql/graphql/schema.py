"""The GraphQL schema, merged from each context's Query/Mutation/Subscription types."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.tools import merge_types

from ucs_graphql.config import Settings
from ucs_graphql.graphql.errors import UcsSchema
from ucs_graphql.graphql.metadata import MetadataMutation, MetadataQuery
from ucs_graphql.graphql.profiles import ProfileMutation, ProfileQuery
from ucs_graphql.graphql.server import ServerMutation, ServerQuery

QUERIES: tuple[type, ...] = (ServerQuery, MetadataQuery, ProfileQuery)
MUTATIONS: tuple[type, ...] = (ServerMutation, MetadataMutation, ProfileMutation)
SUBSCRIPTIONS: tuple[type, ...] = ()

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None


def build_schema(settings: Settings | None = None) -> UcsSchema:
    """The schema with the protective extensions the settings ask for."""
    s = settings or Settings()
    # Factories: Strawberry builds fresh extension instances per request (the parse cache is module-wide).
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=512),
        lambda: QueryDepthLimiter(max_depth=s.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=s.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=s.graphql_max_tokens),
    ]
    if not s.graphql_introspection:
        extensions.append(DisableIntrospection)
    return UcsSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)


def sdl() -> str:
    """The exported SDL (what schema.graphql holds)."""
    return build_schema().as_str() + "\n"
