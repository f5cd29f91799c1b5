"""GraphQL errors: domain errors get their kind's code in `extensions.code`; others are masked and logged."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError

from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import UcsError

log = logging.getLogger("ucs.graphql")


class UcsSchema(strawberry.Schema):
    """A Strawberry schema that renders errors from the one error table."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = error.original_error
            while original is not None and not isinstance(original, UcsError) and original.__cause__:
                original = original.__cause__  # type: ignore[assignment]
            if isinstance(original, UcsError):
                row = row_for(original.kind)
                error.message = original.description
                error.extensions = {"code": row.graphql_code, "status": row.status, "ucs_code": row.code}
            elif error.original_error is None:
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                log.error("unexpected GraphQL error: %s", error.message, exc_info=error.original_error)
                error.message = "an unexpected error occurred; the server log has the details"
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "status": 500, "ucs_code": 5000}
