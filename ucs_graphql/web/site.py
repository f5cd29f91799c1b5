"""Which Host names the server answers to and which browser origins may call it (docs/access.md, "Browsers").

A web page the user opens can send requests to the server (cross-site requests: the browser names the page
in `Origin`), and a page whose name is made to resolve to the server's address (DNS rebinding) can read the
answers too (the browser then sends the page's name in `Host`). The front door refuses, before any body is
read, a request whose Host is not one of `allowed_hosts` and one whose Origin is present and is neither the
server's own (the scheme and Host of the request) nor one of `cors_origins`. Clients that are not browsers
send no Origin (IVR platforms, scripts) and are served as before.
"""

from __future__ import annotations

import re
import socket

from ucs_graphql.config import Settings
from ucs_graphql.kit.errors import Forbidden, MalformedRequest

LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Listening on these means every address of the machine.
ANY_ADDRESS = ("0.0.0.0", "::", "")
_DEFAULT_PORT = {"http": "80", "https": "443"}
_WEB_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_ORIGIN = re.compile(r"(https?)://([^/?#@\s]+)")
# Host values found allowed, remembered so that the usual request costs one set lookup (a few per server).
_REMEMBERED_HOSTS = 64


def host_name(value: str) -> str:
    """The name or address of a Host value or host setting: lower case, no port, no brackets, no final dot."""
    text = value.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        text = text[1:end] if end > 0 else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def machine_names() -> set[str]:
    """The machine's host name and its fully qualified name."""
    try:
        names = {socket.gethostname(), socket.getfqdn()}
    except OSError:
        return set()
    return {host_name(n) for n in names if n}


def default_hosts(listen_host: str) -> set[str]:
    """The Host names served when `allowed_hosts` is empty: the listen address, localhost and the loopback
    addresses; listening on every address, the machine's names too (and, per connection, the address it
    arrived at: `Site.check`)."""
    hosts = set(LOOPBACK)
    if listen_host.strip() in ANY_ADDRESS:
        hosts |= machine_names()
    else:
        hosts.add(host_name(listen_host))
    return hosts


def _origin_key(scheme: str, netloc: str) -> str:
    """`scheme://host[:port]` in lower case, without the scheme's default port."""
    netloc = netloc.lower()
    port = _DEFAULT_PORT.get(scheme)
    if port and netloc.endswith(":" + port) and not netloc.endswith("]"):
        netloc = netloc[: -len(port) - 1]
    return f"{scheme}://{netloc}"


class Site:
    """The Host and Origin checks of the front door, built once from the settings."""

    def __init__(self, settings: Settings) -> None:
        entries = {h.strip().lower() for h in settings.allowed_hosts} or default_hosts(settings.host)
        # Listening on every address with the default list: the address a connection arrived at is one the
        # server listens on (a rebinding page's Host is a name, never the server's own address).
        self.local_address = not settings.allowed_hosts and settings.host.strip() in ANY_ADDRESS
        self._seen: set[str] = set()
        self.any_host = "*" in entries
        self.domains = tuple(e for e in entries if e.startswith("."))
        self.hosts = frozenset(host_name(e) for e in entries if e != "*" and not e.startswith("."))
        self.origins = frozenset(
            _origin_key(m.group(1), m.group(2))
            for m in (_ORIGIN.fullmatch(o.strip().lower()) for o in settings.cors_origins) if m)

    def listed(self, host: str) -> bool:
        """Whether a Host value is in the list of names served."""
        if self.any_host:
            return True
        name = host_name(host)
        return name in self.hosts or any(name.endswith(d) or name == d[1:] for d in self.domains)

    def host_allowed(self, host: str, local: str | None = None) -> bool:
        """Whether a Host value names this server (`local`: the address the connection arrived at)."""
        if self.listed(host):
            return True
        return self.local_address and local is not None and host_name(host) == host_name(local)

    def cors_origin(self, origin: str) -> bool:
        """Whether an Origin value is one of `cors_origins`."""
        match = _ORIGIN.fullmatch(origin.strip().lower())
        return match is not None and _origin_key(match.group(1), match.group(2)) in self.origins

    def origin_allowed(self, origin: str, scheme: str, host: str | None) -> bool:
        """Whether an Origin value is the request's own (its scheme and Host) or an allowed CORS origin."""
        match = _ORIGIN.fullmatch(origin.strip().lower())
        if match is None:  # "null" (sandboxed pages, file: URLs, redirects) and anything that is not http(s)
            return False
        key = _origin_key(match.group(1), match.group(2))
        if key in self.origins:
            return True
        own = _WEB_SCHEME.get(scheme, scheme)
        return host is not None and key == _origin_key(own, host.strip())

    def check(self, headers: dict[str, str], scheme: str, local: str | None = None, *, probe: bool = False) -> None:
        """Refuse a request from a browser page of another origin (403) or under another Host name (400).
        `local` is the address the connection arrived at; `probe` (health and readiness) skips the Host check."""
        host = headers.get("host")
        if host is None or probe or host in self._seen:
            pass
        elif self.listed(host):
            if len(self._seen) < _REMEMBERED_HOSTS:
                self._seen.add(host)
        elif not self.host_allowed(host, local):
            raise MalformedRequest(f"this server does not answer to the Host '{host_name(host)}' "
                                   "(allowed_hosts in the configuration)")
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, scheme, host):
            raise Forbidden(f"requests from the web page origin '{origin}' are not accepted: it is neither "
                            "this server's own origin nor one of cors_origins in the configuration")
