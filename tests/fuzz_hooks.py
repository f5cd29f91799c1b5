"""Schemathesis hooks for the fuzz tests (loaded through SCHEMATHESIS_HOOKS=tests.fuzz_hooks).

GraphQL: a strategy for the JSON scalar (random JSON and documents shaped like the ones the mutations
read), and a check that a GraphQL answer never reports an internal error: domain errors (NOT_FOUND,
MODE_FORBIDDEN, BAD_PARAMETER...) are expected answers, INTERNAL_SERVER_ERROR and any 5xx are not.
"""

from __future__ import annotations

from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st

GRAPHQL_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
SCHEMA_NAME = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,28}", fullmatch=True), st.text(max_size=8))
ATTRIBUTE = st.fixed_dictionaries(
    {"name": SCHEMA_NAME, "type": st.sampled_from(["string", "integer", "long", "boolean", "date", "datetime",
                                                   "double", "currency", "bogus"])},
    optional={"length": st.integers(-1, 300), "mandatory": st.booleans(), "encrypt": st.booleans(),
              "default": st.one_of(st.none(), st.text(max_size=5), st.integers())},
)
DOCUMENT = st.fixed_dictionaries(
    {"name": SCHEMA_NAME},
    optional={"type": st.sampled_from(["single-valued", "multi-valued", "classifier", "x"]),
              "attributes": st.one_of(st.lists(ATTRIBUTE, max_size=3), st.lists(SCHEMA_NAME, max_size=3)),
              "unique": st.lists(st.one_of(SCHEMA_NAME, st.lists(SCHEMA_NAME, max_size=2)), max_size=2),
              "source": SCHEMA_NAME, "mode": st.sampled_from(["production", "maintenance", "x"])},
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(GRAPHQL_NAME, inner, max_size=3)),
    max_leaves=8,
)


def literal(value: Any) -> graphql.ValueNode:
    """The GraphQL literal of a JSON value."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(literal(v) for v in value))
    return graphql.ObjectValueNode(fields=tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=literal(v)) for k, v in value.items()))


schemathesis.graphql.scalar("JSON", st.one_of(DOCUMENT, st.lists(DOCUMENT, max_size=2), JSON_VALUES).map(literal))
# Journey scalars: 64-bit ids, and business-attribute values given as an id or a name.
schemathesis.graphql.scalar("Long", st.integers(-(2**63), 2**63 - 1).map(literal))
schemathesis.graphql.scalar("IdOrName", st.one_of(st.integers(-(2**31), 2**31), st.text(max_size=12)).map(literal))


@schemathesis.check
def graphql_no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """A GraphQL answer is 200 (or 400 for a document that cannot run) and never an internal error."""
    assert response.status_code in (200, 400), f"status {response.status_code}: {response.text[:500]}"
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code and code != "INTERNAL_SERVER_ERROR", f"unexpected GraphQL error: {error}"
