"""Typed settings, built once at start (CLI flags > environment > configuration file > defaults)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///./var/ucs.db"

DEFAULT_MEDIA_TYPES = [
    "voice", "email", "chat", "sms", "webform", "callback", "video", "fax", "workitem", "cobrowsing",
]


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the server reads at start. Passed down explicitly; never read from globals."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    database_url: str = DEFAULT_DATABASE_URL
    config_file: str | None = None
    base_path: str = ""
    # Value checks against the reference's unauthorized strings (decisions.md, "Reserved words").
    check_reserved_values: bool = True
    # Media types for the per-media predefined profile attributes and the MediaType business attribute.
    media_types: tuple[str, ...] = tuple(DEFAULT_MEDIA_TYPES)
    # Extra profile attributes defined in the configuration file: [{"name":..., "type":...}, ...].
    profile_attributes: tuple[dict[str, Any], ...] = ()
    # Business attributes from the configuration file; empty = the built-in default set.
    business_attributes: tuple[dict[str, Any], ...] = ()
    # Roles, users and tokens (access control); raw sections of the configuration file.
    roles: tuple[dict[str, Any], ...] = ()
    users: tuple[dict[str, Any], ...] = ()
    tokens: tuple[dict[str, Any], ...] = ()
    allow_open_network: bool = False
    # Host header values served (the listen address, localhost and the loopback addresses when empty; "*"
    # any; ".example.com" that domain and its subdomains): a browser led to the server by another name
    # (DNS rebinding) is refused.
    allowed_hosts: tuple[str, ...] = ()
    # Browser origins (scheme://host[:port]) besides the server's own whose requests are served; a request
    # with any other Origin is refused on both doors.
    cors_origins: tuple[str, ...] = ()
    # Field-level encryption key (base64, 32 bytes); also UCS_ENCRYPTION_KEY.
    encryption_key: str | None = None
    # Bulk import: the only directory the server reads `profiles` paths from.
    import_dir: str = "./var/import"
    # Largest file uploaded to POST /profiles/import (spooled to disk; other requests keep max_body_bytes).
    max_import_bytes: int = 8 * 1024 * 1024 * 1024
    # GraphQL and request limits.
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    # Plain query documents run from a plan compiled once (ucs_graphql.graphql.compiled); false = always the
    # full Strawberry path.
    graphql_compiled_plans: bool = True
    # Tenants whose schemas are kept in memory per process (least recently used dropped first).
    schema_cache_tenants: int = 1024
    max_body_bytes: int = 16 * 1024 * 1024
    rate_limit_per_minute: int = 0
    # Operability.
    access_log: bool = True
    log_format: str = "ucs"  # "ucs" (the reference's log line) or "json"
    mode_poll_seconds: float = 0.1
    mode_switch_timeout_seconds: float = 60.0
    # Longest wait for the database: connecting, a pooled connection, a lock, a write's retries (then 503).
    db_timeout_seconds: float = 5.0
    # Longest round trip of one PostgreSQL statement (0 = db_timeout_seconds); raise it for heavy maintenance.
    db_statement_timeout_seconds: float = 0.0
    db_pool_size: int = 16
    drain_seconds: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# An origin as browsers send it: scheme, host (a name, an IPv4 or a bracketed IPv6 address), optional port.
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")

_ENV = {
    "UCS_HOST": "host",
    "UCS_PORT": "port",
    "UCS_DATABASE_URL": "database_url",
    "UCS_CONFIG": "config_file",
    "UCS_WORKERS": "workers",
    "UCS_ENCRYPTION_KEY": "encryption_key",
    "UCS_BASE_PATH": "base_path",
    "UCS_LOG_FORMAT": "log_format",
}

_TUPLE_FIELDS = {"media_types", "profile_attributes", "business_attributes", "roles", "users", "tokens",
                 "allowed_hosts", "cors_origins"}


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds[name])
    try:
        if name in _TUPLE_FIELDS:
            if not isinstance(value, list | tuple):
                raise ConfigError(f"configuration '{name}' must be a list")
            return tuple(value)
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
        if kind.startswith("bool"):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"configuration '{name}': {value!r} is not a valid {kind}") from exc
    return value


def _flatten(doc: dict[str, Any]) -> dict[str, Any]:
    """Configuration file sections ([server], [database], [limits], ...) flattened to Settings fields."""
    known = {f.name for f in fields(Settings)}
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    aliases: dict[str, str] = {"url": "database_url"}
    for key, value in doc.items():
        if key in known:
            out[key] = value
        elif isinstance(value, dict) and key in ("server", "database", "limits", "graphql", "security", "log"):
            for sub, subval in value.items():
                name = str(aliases.get(sub, sub)) if key == "database" else str(sub)
                if key == "graphql" and not name.startswith("graphql_"):
                    name = f"graphql_{name}"
                if key == "log" and name in ("format",):
                    name = "log_format"
                if name in known:
                    out[name] = subval
                else:
                    extra[f"{key}.{sub}"] = subval
        else:
            extra[key] = value
    if extra:
        out["extra"] = extra
    return out


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from the configuration file, the environment and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, name in _ENV.items():
        if var in env and env[var] != "":
            values[name] = env[var]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    config_file = values.get("config_file")
    merged: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        try:
            merged.update(_flatten(tomllib.loads(path.read_text(encoding="utf-8"))))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {config_file}: {exc}") from exc
    merged.update(values)
    coerced = {k: (_coerce(k, v) if k != "extra" else v) for k, v in merged.items()}
    settings = Settings(**coerced)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Refuse settings that cannot work, with a message that says what to change."""
    url = settings.database_url or ""
    if not (url.startswith("sqlite:///") or url.startswith("postgresql://") or url.startswith("postgres://")):
        raise ConfigError(
            f"database URL {url!r} is not supported: use sqlite:///relative.db, sqlite:////abs/path.db "
            "or postgresql://user@host:port/db"
        )
    if settings.base_path and (not settings.base_path.startswith("/") or settings.base_path.endswith("/")):
        raise ConfigError("base_path must start with '/' and not end with '/' (for example /cv)")
    if settings.log_format not in ("ucs", "json"):
        raise ConfigError("log format must be 'ucs' or 'json'")
    for origin in settings.cors_origins:
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"cors_origins: {origin!r} is not an origin; write scheme://host[:port] "
                              "(http or https, no path), for example https://console.example.com")
    for host in settings.allowed_hosts:
        if not isinstance(host, str) or not host.strip() or "/" in host:
            raise ConfigError(f"allowed_hosts: {host!r} is not a host name or address (for example "
                              "ucs.example.com, .example.com for a domain and its subdomains, or *)")
    if settings.schema_cache_tenants < 1:
        raise ConfigError("schema_cache_tenants must be at least 1")


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of settings with some fields changed (tests and the CLI use it)."""
    return replace(settings, **changes)
