"""Cross-origin requests from the browser pages of `cors_origins` (docs/access.md, "Browsers").

None by default: a page of another origin is refused by the front door (`ucs_graphql.web.site`). For an
origin of `cors_origins`, the preflight `OPTIONS` of any path is answered 204 with the allowed methods
(`cors_methods`), request headers (`cors_headers`) and how long the browser may keep the answer
(`cors_max_age`); a preflight asking for another method or header is a 403. Every answer to an allowed
origin names it in `Access-Control-Allow-Origin` (with `Vary: Origin`) and exposes the headers a client
reads. Credentials travel in `Authorization` (no cookies), so no `Access-Control-Allow-Credentials`.
"""

from __future__ import annotations

from ucs_graphql.config import Settings
from ucs_graphql.kit.errors import Forbidden
from ucs_graphql.web.site import Site

# Headers of an answer a page may read besides the CORS-safelisted ones.
_EXPOSED = b"x-request-id, retry-after, www-authenticate, allow"
# Always allowed in a preflight (CORS-safelisted request headers).
_SAFE = {"accept", "accept-language", "content-language"}


class Cors:
    """The CORS answers of one server, built once from the settings."""

    def __init__(self, settings: Settings, site: Site) -> None:
        self.site = site
        self.methods = {m.upper() for m in settings.cors_methods}
        self.headers = {h.lower() for h in settings.cors_headers} | _SAFE
        self._preflight = [
            (b"access-control-allow-methods", ", ".join(sorted(self.methods)).encode()),
            (b"access-control-allow-headers", ", ".join(sorted(self.headers)).encode()),
            (b"access-control-max-age", str(settings.cors_max_age).encode()),
        ]

    def headers_for(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """The headers every answer to `origin` carries: none unless it is one of cors_origins."""
        if origin is None or not self.site.origins or not self.site.cors_origin(origin):
            return []
        return [(b"access-control-allow-origin", origin.strip().encode("latin-1")), (b"vary", b"Origin"),
                (b"access-control-expose-headers", _EXPOSED)]

    def preflight(self, origin: str, method: str, requested: str) -> list[tuple[bytes, bytes]]:
        """The headers of the 204 answering a preflight (besides `headers_for`'s), or Forbidden."""
        if not self.headers_for(origin):
            raise Forbidden(f"cross-origin requests from '{origin}' are not accepted (cors_origins in the "
                            "configuration)")
        if method.strip().upper() not in self.methods:
            raise Forbidden(f"cross-origin {method.strip()} requests are not accepted (cors_methods in the "
                            "configuration)")
        names = {n.strip().lower() for n in requested.split(",") if n.strip()}
        refused = sorted(names - self.headers)
        if refused:
            raise Forbidden(f"cross-origin requests may not send the header(s) {', '.join(refused)} "
                            "(cors_headers in the configuration)")
        return self._preflight
