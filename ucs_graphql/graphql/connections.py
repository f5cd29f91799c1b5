"""Cursor connections (the Relay connection spec): `edges { cursor node }` and `pageInfo`, paged by
`first` (at most ucs_graphql.kit.pages.MAX_PAGE) and `after` (an opaque cursor of the same list)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

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


class _Edge(Edge[N]):
    """An Edge whose cursor is encoded when it is read: most documents select nodes and no cursor."""

    def __init__(self, row: Any, node: N, cursor_of: Callable[[Any], str]) -> None:
        self.node = node
        self._row = row
        self._cursor_of = cursor_of

    @property
    def cursor(self) -> str:  # type: ignore[override]
        return self._cursor_of(self._row)


class _PageInfo(PageInfo):
    """A PageInfo whose cursors are read from its edges when asked for."""

    def __init__(self, has_next_page: bool, has_previous_page: bool, edges: list[_Edge[Any]]) -> None:
        self.has_next_page = has_next_page
        self.has_previous_page = has_previous_page
        self._edges = edges

    @property
    def start_cursor(self) -> str | None:  # type: ignore[override]
        return self._edges[0].cursor if self._edges else None

    @property
    def end_cursor(self) -> str | None:  # type: ignore[override]
        return self._edges[-1].cursor if self._edges else None


def connection(rows: Sequence[R], page: Page, cursor: Callable[[R], str], node: Callable[[R], N]) -> Connection[N]:
    """The connection of a page read with one item more than `page.first` (which says a next page exists).
    Cursors are encoded only when the document reads them."""
    edges: list[_Edge[N]] = [_Edge(r, node(r), cursor) for r in rows[:page.first]]
    return Connection(edges=edges,  # type: ignore[arg-type]
                      page_info=_PageInfo(len(rows) > page.first, page.after is not None, edges))
