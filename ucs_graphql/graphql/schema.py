"""The GraphQL schema, merged from each context's Query/Mutation/Subscription types."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules
from graphql.language.parser import parse
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types

from ucs_graphql.config import Settings
from ucs_graphql.graphql import gather
from ucs_graphql.graphql.errors import HideSuggestionsExecution, HideSuggestionsRule, UcsSchema
from ucs_graphql.graphql.interactions import TYPES as INTERACTION_TYPES
from ucs_graphql.graphql.interactions import InteractionMutation, InteractionQuery
from ucs_graphql.graphql.journeys import JourneyMutation, JourneyQuery, JourneySubscription
from ucs_graphql.graphql.limits import DocumentMeasure, Limits, document_refusals, measure, request_refusals
from ucs_graphql.graphql.metadata import MetadataMutation, MetadataQuery
from ucs_graphql.graphql.node_query import NodeQuery
from ucs_graphql.graphql.profiles import ProfileMutation, ProfileQuery
from ucs_graphql.graphql.reach import Reach
from ucs_graphql.graphql.server import ServerMutation, ServerQuery
from ucs_graphql.graphql.viewer import ViewerQuery
from ucs_graphql.kit.errors import OverLimit
from ucs_graphql.kit.sized_cache import SizedCache

QUERIES: tuple[type, ...] = (ServerQuery, MetadataQuery, ProfileQuery, JourneyQuery, InteractionQuery, NodeQuery,
                             ViewerQuery)
MUTATIONS: tuple[type, ...] = (ServerMutation, MetadataMutation, ProfileMutation, JourneyMutation, InteractionMutation)
SUBSCRIPTIONS: tuple[type, ...] = (JourneySubscription,)
# Types reached only through an interface (each context's concrete implementations).
TYPES: tuple[type, ...] = (*INTERACTION_TYPES,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None


BYTES_PER_CHAR = 100
"""Estimated bytes a cached document takes per character of its text: its syntax tree (a dense 44 KB document
parses to 3.8 MB, 87 bytes a character), its validation result and its figures."""
BYTES_PER_PLANNED_FIELD = 4096
"""Estimated bytes of a compiled plan per field it selects (3,000 fields took 9.1 MB besides the document)."""
ENTRY_BYTES = 4096
"""Estimated bytes of a cache entry besides its text's share (a short text's objects, the key, the record)."""


def entry_weight(query: str, planned_fields: int = 0) -> int:
    """The estimated bytes a cache entry for this query text holds (with a plan of so many fields)."""
    return ENTRY_BYTES + BYTES_PER_CHAR * len(query) + BYTES_PER_PLANNED_FIELD * planned_fields


@dataclass(slots=True)
class Checked:
    """A parsed document, its figures, its refusals by the document limits, and its validation results."""

    schema: GraphQLSchema
    document: DocumentNode
    measure: DocumentMeasure
    refusals: list[GraphQLError]
    validated: dict[tuple[Any, ...], list[GraphQLError]] = field(default_factory=dict)


class Protection(SchemaExtension):
    """The request pipeline's protection: the document's size and token limits at parsing; its depth,
    aliases, expanded selections and cost (`ucs_graphql.graphql.limits`, linear in the text) before
    graphql-core's validation, which only ever sees documents within them; then validation, with the
    introspection rule when introspection is off; and, per request, the variables' lists and the cost the
    variables give. Parsed documents, their figures and their validation results are cached by query text
    in a cache bounded by estimated bytes. `protection(settings)` makes the one for a configuration.

    One extension instead of four keeps Strawberry's per-hook work small; the rules are built once, so
    validation results stay cacheable.
    """

    rules: tuple[Any, ...] = ()
    """The validation rules added to graphql-core's specified rules."""
    max_tokens: int = 0
    max_document_bytes: int = 0
    limits: Limits
    documents: SizedCache[str, Checked]
    cache_bytes: int = 0

    def __init__(self, *, execution_context: Any = None) -> None:
        super().__init__(execution_context=execution_context)
        self.checked: Checked | None = None

    @classmethod
    def validation_rules(cls) -> tuple[Any, ...]:
        """Every validation rule a document passes (Strawberry adds its own two in `validate_document`)."""
        return (*specified_rules, *cls.rules)

    @classmethod
    def check(cls, schema: GraphQLSchema, query: str) -> Checked:
        """The parsed document of `query` with its figures and refusals, from the cache when it is there.
        Raises GraphQLError when the text is over the size limit or does not parse."""
        if len(query) > cls.max_document_bytes or (
                4 * len(query) > cls.max_document_bytes and len(query.encode()) > cls.max_document_bytes):
            message = f"the document is larger than {cls.max_document_bytes} bytes"
            raise GraphQLError(message, original_error=OverLimit(message))
        found = cls.documents.get(query)
        if found is not None and found.schema is schema:
            return found
        document = parse(query, max_tokens=cls.max_tokens)
        figures = measure(schema, document, cls.limits.default_list_size)
        found = Checked(schema, document, figures, document_refusals(figures, cls.limits))
        cls.documents.put(query, found, entry_weight(query))
        return found

    @classmethod
    def errors(cls, checked: Checked, rules: tuple[Any, ...]) -> list[GraphQLError]:
        """The document's refusals by the limits, else its validation errors (cached with it)."""
        if checked.refusals:
            return checked.refusals
        found = checked.validated.get(rules)
        if found is None:
            found = checked.validated[rules] = validate_document(checked.schema, checked.document, rules)
        return found

    @classmethod
    def request_errors(cls, checked: Checked, operation_name: str | None,
                       variables: dict[str, Any] | None) -> list[GraphQLError]:
        """Why a request running this valid document with these variables is refused (empty if it is not)."""
        return request_refusals(checked.schema, checked.document, checked.measure, operation_name, variables,
                                cls.limits)

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = ec.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.query is not None  # Strawberry refuses a request without one before parsing
        self.checked = self.check(ec.schema._schema, ec.query)
        ec.graphql_document = self.checked.document
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.graphql_document is not None
        checked = self.checked
        if checked is None or checked.document is not ec.graphql_document:
            figures = measure(ec.schema._schema, ec.graphql_document, self.limits.default_list_size)
            checked = Checked(ec.schema._schema, ec.graphql_document, figures,
                              document_refusals(figures, self.limits))
        errors = self.errors(checked, ec.validation_rules)
        if not errors:
            errors = self.request_errors(checked, ec.operation_name, ec.variables)
        ec.pre_execution_errors = errors
        yield


def protection(settings: Settings) -> type[Protection]:
    """The protective extension for these settings."""
    rules: list[Any] = []
    if not settings.graphql_introspection:
        rules += [NoSchemaIntrospectionCustomRule, HideSuggestionsRule]
    limits = Limits(
        max_depth=settings.graphql_max_depth, max_aliases=settings.graphql_max_aliases,
        max_selections=settings.graphql_max_selections, max_cost=settings.graphql_max_cost,
        default_list_size=settings.graphql_default_list_size, max_list_items=settings.graphql_max_list_items,
        max_variable_values=settings.graphql_max_variable_values)
    return type("Protection", (Protection,), {
        "rules": tuple(rules), "max_tokens": settings.graphql_max_tokens,
        "max_document_bytes": settings.graphql_max_document_bytes, "limits": limits,
        "cache_bytes": settings.graphql_cache_bytes, "documents": SizedCache(settings.graphql_cache_bytes)})


def checked_document(schema: UcsSchema, query: str, protection: type[Protection]) -> Checked | None:
    """The document of `query` as the pipeline parses it, when it passes the document limits and every
    validation rule; None when it does not (the full pipeline then reports why)."""
    try:
        checked = protection.check(schema._schema, query)
    except GraphQLError:
        return None
    if protection.errors(checked, protection.validation_rules()):
        return None
    return checked


def build_schema(settings: Settings | None = None) -> UcsSchema:
    """The schema with the protective extension the settings ask for, and the check of what a document
    reaches (ucs_graphql.graphql.reach)."""
    s = settings or Settings()
    gather.install()
    return UcsSchema(query=Query, mutation=Mutation, subscription=Subscription, types=TYPES,
                     extensions=[protection(s), Reach],
                     execution_context_class=None if s.graphql_introspection else HideSuggestionsExecution)


def sdl() -> str:
    """The exported SDL (what schema.graphql holds)."""
    return build_schema().as_str() + "\n"
