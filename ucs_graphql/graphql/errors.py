"""GraphQL errors: domain errors get their kind's code in `extensions.code`; a variable or argument value
that does not coerce to its type is the client's bad parameter; others are masked and logged."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from graphql.validation import ValidationContext, ValidationRule
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import UcsError
from ucs_graphql.web.logging import loggable

log = logging.getLogger("ucs.graphql")

# How graphql-core words its refusal of a client's input: a variable's value (before execution), or an
# argument's value coerced when its field runs (e.g. a null variable for an argument that takes no null).
_VARIABLE = "Variable '$"
_ARGUMENT = "Argument '"
# How graphql-core words the refusal of a document past graphql_max_tokens: a limit, not a syntax error.
_TOKEN_LIMIT = "Parsing aborted"


class HideSuggestionsRule(ValidationRule):
    """Validates without graphql-core's "Did you mean …?" suggestions (its `hide_suggestions`), which name
    fields, arguments, types and enum values: with introspection off the schema is not to be read that way."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        # validate() takes hide_suggestions as an argument; Strawberry's pipeline does not pass it on.
        context._hide_suggestions = True


class HideSuggestionsExecution(StrawberryGraphQLCoreExecutionContext):
    """Runs operations without suggestions in request errors (e.g. a variable's unknown enum value)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


class UcsSchema(strawberry.Schema):
    """A Strawberry schema that renders errors from the one error table."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = _domain_error(error)
            if isinstance(original, UcsError):
                row = row_for(original.kind)
                error.message = original.description
                error.extensions = {"code": row.graphql_code, "status": row.status, "ucs_code": row.code}
            elif isinstance(error, GraphQLSyntaxError) and _TOKEN_LIMIT not in error.message:
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
            elif error.original_error is None:
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            elif _bad_input(error):
                row = row_for("bad_parameter")
                error.extensions = {"code": row.graphql_code, "status": row.status, "ucs_code": row.code}
            else:
                safe = loggable(error.original_error)
                log.error("unexpected GraphQL error: %s", safe, exc_info=safe)
                error.message = "an unexpected error occurred; the server log has the details"
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "status": 500, "ucs_code": 5000}


def _domain_error(error: GraphQLError) -> BaseException | None:
    """The domain error behind a GraphQL error, through graphql-core's wrapping errors and exception causes
    (e.g. a scalar refusing a variable's value); else the first error behind it."""
    first = error.original_error
    original: BaseException | None = first
    while original is not None and not isinstance(original, UcsError):
        inner = original.original_error if isinstance(original, GraphQLError) else None
        original = inner if inner is not None else original.__cause__
    return original if original is not None else first


def _bad_input(error: GraphQLError) -> bool:
    """Whether graphql-core refused a value the client gave (not a value a resolver returned)."""
    if error.path is None:  # before execution, only variable values are coerced
        return error.message.startswith(_VARIABLE)
    raw = error.original_error
    return isinstance(raw, GraphQLError) and raw.path is None and raw.message.startswith(_ARGUMENT)
