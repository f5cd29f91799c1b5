"""The served GraphQL schema only adds to the one of the previous release (tests/schema_baseline.graphql):
no type, field, argument or enum value removed or changed in a way a client's document would notice. A type
that must change gets a new field and the old one deprecated; the baseline moves on at each release."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes

from ucs_graphql.graphql.schema import sdl

BASELINE = Path(__file__).resolve().parent / "schema_baseline.graphql"


def test_the_served_schema_breaks_nothing_of_the_previous_release():
    changes = find_breaking_changes(build_sdl(BASELINE.read_text()), build_sdl(sdl()))
    assert not changes, "\n".join(f"{c.type.name}: {c.description}" for c in changes)


def test_the_check_sees_a_removed_field():
    """The comparison itself works: dropping a field of the baseline is a breaking change."""
    text = BASELINE.read_text()
    assert "  customerId: String!\n" in text
    removed = build_sdl(text.replace("  customerId: String!\n", "", 1))
    assert find_breaking_changes(build_sdl(text), removed)
