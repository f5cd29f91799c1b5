"""The headers of what a browser may render: the server's HTML pages and content stored by clients
(docs/access.md, "Browsers"). Every Content-Security-Policy of the server is written here, so tightening one
is a change to this file.

- HTML pages (`/docs`, the `/metadata` index, GraphiQL at `/graphql`) may not be framed (`frame-ancestors
  'none'`, `X-Frame-Options: DENY`), are not sniffed as another type (`nosniff`) and load nothing the page
  does not need. GraphiQL loads React and GraphiQL from unpkg.com (pinned versions with Subresource
  Integrity, as Strawberry ships it) and runs one inline script, allowed by its hash.
- Stored content (`/interactions/{id}/plain_text|structured_text|binary_content`) carries the MIME type a
  client gave: it is served sandboxed (`sandbox`: no scripts, an opaque origin, no forms or pop-ups),
  loading nothing, never sniffed, and binary content as a download (`Content-Disposition: attachment`), so
  an HTML or SVG attachment can never run as a page of the server's origin.
"""

from __future__ import annotations

import base64
import hashlib
import re

NOSNIFF = "nosniff"
_LOCKED = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

PAGE_CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; {_LOCKED}"
"""A page without scripts (the `/docs` table, the `/metadata` index)."""

GRAPHIQL_CDN = "https://unpkg.com"
"""Where Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from."""

CONTENT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Stored content: sandboxed, loading nothing but inline styles and data: images."""

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """The CSP source expressions (`'sha256-…'`) of a page's inline scripts."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in _INLINE_SCRIPT.findall(html)]


def graphiql_csp(html: str) -> str:
    """The policy of the GraphiQL page: its inline script by hash and the CDN's scripts and styles; queries
    go to the page's own origin (`connect-src 'self'`, WebSocket included). Inline styles are allowed: the
    editor sets style attributes as it draws."""
    scripts = " ".join([*script_hashes(html), GRAPHIQL_CDN])
    return (f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline' {GRAPHIQL_CDN}; "
            f"font-src data: {GRAPHIQL_CDN}; img-src 'self' data:; connect-src 'self'; {_LOCKED}")


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
