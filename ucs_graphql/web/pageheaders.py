"""The headers of what a browser may render: the server's HTML pages and content stored by clients
(docs/access.md, "Browsers"). Every Content-Security-Policy of the server is written here, so tightening one
is a change to this file.

- HTML pages (`/docs`, the `/metadata` index, GraphiQL at `/graphql`, the console at `/console`) may not
  be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), are not sniffed as another type
  (`nosniff`) and load nothing the page does not need. GraphiQL (`ucs_graphql.web.graphiql`) and the
  console (`ucs_graphql.web.console`) load their scripts and styles from the server itself and run no
  inline script: their policies name no other origin.
- Stored content (`/interactions/{id}/plain_text|structured_text|binary_content`) carries the MIME type a
  client gave: it is served sandboxed (`sandbox`: no scripts, an opaque origin, no forms or pop-ups),
  loading nothing, never sniffed, and binary content as a download (`Content-Disposition: attachment`), so
  an HTML or SVG attachment can never run as a page of the server's origin.
"""

from __future__ import annotations

NOSNIFF = "nosniff"
_LOCKED = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

PAGE_CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; {_LOCKED}"
"""A page without scripts (the `/docs` table, the `/metadata` index)."""

CONTENT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Stored content: sandboxed, loading nothing but inline styles and data: images."""

GRAPHIQL_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; "
                f"{_LOCKED}")
"""GraphiQL (`ucs_graphql.web.graphiql`): scripts and styles from the server's own files, no inline script or
style element; the editor's fonts and icons are data: URLs inside its stylesheet; queries and
graphql-transport-ws to the page's own origin (`connect-src 'self'`, WebSocket included); workers only from
the origin or blob:."""

CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               f"{_LOCKED}")
"""The customer console (`ucs_graphql.web.console`): ES modules and a stylesheet from the server's own files,
no inline script or style; GraphQL over HTTP and graphql-transport-ws to the page's own origin only."""


def page_headers(csp: str = PAGE_CSP) -> dict[str, str]:
    """The headers of one of the server's HTML pages."""
    return {"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "X-Content-Type-Options": NOSNIFF,
            "Referrer-Policy": "no-referrer"}


def content_headers(*, download: bool) -> dict[str, str]:
    """The headers of stored content served with a client's MIME type (`download`: as an attachment)."""
    headers = {"Content-Security-Policy": CONTENT_CSP, "X-Content-Type-Options": NOSNIFF}
    if download:
        headers["Content-Disposition"] = "attachment"
    return headers
