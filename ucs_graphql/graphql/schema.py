"""The GraphQL schema, merged from each context's Query/Mutation/Subscription types."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules
from graphql.language.parser import parse
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types

from ucs_graphql.config import Settings
from ucs_graphql.graphql.errors import HideSuggestionsExecution, HideSuggestionsRule, UcsSchema
from ucs_graphql.graphql.interactions import TYPES as INTERACTION_TYPES
from ucs_graphql.graphql.interactions import InteractionMutation, InteractionQuery
from ucs_graphql.graphql.journeys import JourneyMutation, JourneyQuery, JourneySubscription
from ucs_graphql.graphql.metadata import MetadataMutation, MetadataQuery
from ucs_graphql.graphql.profiles import ProfileMutation, ProfileQuery
from ucs_graphql.graphql.reach import Reach
from ucs_graphql.graphql.server import ServerMutation, ServerQuery

QUERIES: tuple[type, ...] = (ServerQuery, MetadataQuery, ProfileQuery, JourneyQuery, InteractionQuery)
MUTATIONS: tuple[type, ...] = (ServerMutation, MetadataMutation, ProfileMutation, JourneyMutation, InteractionMutation)
SUBSCRIPTIONS: tuple[type, ...] = (JourneySubscription,)
# Types reached only through an interface (each context's concrete implementations).
TYPES: tuple[type, ...] = (*INTERACTION_TYPES,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None


CACHED_TEXT_CHARS = 64 * 1024
"""Query texts up to this length are kept, parsed and validated, in caches of a bounded number of entries;
longer ones (a request body may hold megabytes) are parsed and validated for each request."""

_parse_cached = lru_cache(maxsize=1024)(parse)
_validate_cached = lru_cache(maxsize=1024)(validate_document)


def _parse(query: str, **options: Any) -> DocumentNode:
    if len(query) > CACHED_TEXT_CHARS:
        return parse(query, **options)
    return _parse_cached(query, **options)


def _validate(schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]) -> list[GraphQLError]:
    loc = document.loc
    if loc is None or len(loc.source.body) > CACHED_TEXT_CHARS:
        return validate_document(schema, document, rules)
    return _validate_cached(schema, document, rules)


class Protection(SchemaExtension):
    """The request pipeline's protection: depth, alias and introspection rules, the token limit, and parse
    and validation results cached by document. `protection(settings)` makes the one for a configuration.

    The rule classes are built once, so validation results stay cacheable (the stock limiters make new rule
    classes for every request); one extension instead of four keeps Strawberry's per-hook work small.
    """

    rules: tuple[Any, ...] = ()
    """The validation rules added to graphql-core's specified rules."""
    max_tokens: int = 0

    @classmethod
    def validation_rules(cls) -> tuple[Any, ...]:
        """Every validation rule a document passes (Strawberry adds its own two in `validate_document`)."""
        return (*specified_rules, *cls.rules)

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = ec.validation_rules + self.rules
        ec.parse_options["max_tokens"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.query is not None  # Strawberry refuses a request without one before parsing
        ec.graphql_document = _parse(ec.query, **ec.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.graphql_document is not None
        ec.pre_execution_errors = _validate(ec.schema._schema, ec.graphql_document, ec.validation_rules)
        yield


def protection(settings: Settings) -> type[Protection]:
    """The protective extension for these settings."""
    rules: list[Any] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.graphql_introspection:
        rules += [NoSchemaIntrospectionCustomRule, HideSuggestionsRule]
    return type("Protection", (Protection,), {"rules": tuple(rules), "max_tokens": settings.graphql_max_tokens})


def checked_document(schema: UcsSchema, query: str, protection: type[Protection]) -> DocumentNode | None:
    """The document of `query` as the pipeline parses it, when it passes every validation rule; None when
    parsing or validation fails (the full pipeline then reports why)."""
    try:
        document = _parse(query, max_tokens=protection.max_tokens)
    except GraphQLError:
        return None
    if _validate(schema._schema, document, protection.validation_rules()):
        return None
    return document


def build_schema(settings: Settings | None = None) -> UcsSchema:
    """The schema with the protective extension the settings ask for, and the check of what a document
    reaches (ucs_graphql.graphql.reach)."""
    s = settings or Settings()
    return UcsSchema(query=Query, mutation=Mutation, subscription=Subscription, types=TYPES,
                     extensions=[protection(s), Reach],
                     execution_context_class=None if s.graphql_introspection else HideSuggestionsExecution)


def sdl() -> str:
    """The exported SDL (what schema.graphql holds)."""
    return build_schema().as_str() + "\n"
