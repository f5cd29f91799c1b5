"""Cursor connections (the Relay connection spec): `edges { cursor node }` and `pageInfo`, paged by
`first` (at most ucs_graphql.kit.pages.MAX_PAGE) and `after` (an opaque cursor of the same list)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from ucs_graphql.kit.pages import Page

N = TypeVar("N")
R = TypeVar("R")


@strawberry.type(description="Where a page of a connection lies in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="True when the page was asked after a cursor.")
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a connection and its cursor.")
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="A page of a list: its edges, and where it lies (pass endCursor as `after` for "
                             "the next page).")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo


def connection(rows: Sequence[R], page: Page, cursor: Callable[[R], str], node: Callable[[R], N]) -> Connection[N]:
    """The connection of a page read with one item more than `page.first` (which says a next page exists)."""
    shown = rows[:page.first]
    edges = [Edge(cursor=cursor(r), node=node(r)) for r in shown]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > page.first, has_previous_page=page.after is not None,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))
