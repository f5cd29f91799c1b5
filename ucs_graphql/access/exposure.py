"""The start-up rule: a server without users runs open, says so, and stays on loopback unless told."""

from __future__ import annotations

import ipaddress

from ucs_graphql.config import ConfigError, Settings

OPEN_WARNING = (
    "NO USERS ARE CONFIGURED: ucs-graphql is running OPEN; every caller may read and change every customer "
    "record and the schema. Configure [[users]] and [[roles]] (docs/access.md) before exposing it."
)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, open_server: bool) -> str | None:
    """The warning to log when the server runs open; ConfigError when it would listen open on the network."""
    if not open_server:
        return None
    if not is_loopback(settings.host) and not settings.allow_open_network:
        raise ConfigError(
            f"refusing to listen on {settings.host} without users: anyone who reaches this address could read "
            "and change every customer record. Configure [[users]] (docs/access.md), listen on 127.0.0.1, or "
            "accept the risk in the configuration file with allow_open_network = true under [security]"
        )
    return OPEN_WARNING
