"""Typed settings, built once at start (CLI flags > environment > configuration file > defaults)."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///./var/ucs.db"
# Read when present and no other file is named (--config, UCS_CONFIG): the container image's mount point.
DEFAULT_CONFIG_FILE = "/etc/ucs-graphql/ucs.toml"

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
    # Serve without users on a non-loopback address; read from the configuration file only (docs/access.md).
    allow_open_network: bool = False
    # Host header values served (the listen address, localhost and the loopback addresses when empty; "*"
    # any; ".example.com" that domain and its subdomains): a browser led to the server by another name
    # (DNS rebinding) is refused.
    allowed_hosts: tuple[str, ...] = ()
    # Browser origins (scheme://host[:port]) besides the server's own whose requests are served; a request
    # with any other Origin is refused on both doors.
    cors_origins: tuple[str, ...] = ()
    # What a page of one of cors_origins may send (answered to its preflight OPTIONS), and for how many
    # seconds the browser may keep that answer.
    cors_methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")
    cors_headers: tuple[str, ...] = ("content-type", "accept", "authorization", "x-genesys-tenantid",
                                     "x-requested-with", "x-request-id")
    cors_max_age: int = 600
    # Field-level encryption key (base64, 32 bytes); also UCS_ENCRYPTION_KEY.
    encryption_key: str | None = None
    # Bulk import: the only directory the server reads `profiles` paths from, one subdirectory per tenant
    # (import_dir/<tenant id>/), where the import logs go too.
    import_dir: str = "./var/import"
    # Largest request body of POST /profiles/import, the uploaded file spooled to disk (other requests keep
    # max_body_bytes); 2 GiB holds some 15 million profiles of the reference's sample shape.
    max_import_bytes: int = 2 * 1024 * 1024 * 1024
    # GraphQL and request limits.
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    # Plain query documents run from a plan compiled once (ucs_graphql.graphql.compiled); false = always the
    # full Strawberry path.
    graphql_compiled_plans: bool = True
    # Most operations in one JSON array (a batch) on /graphql.
    graphql_max_batch: int = 10
    # Memory kept for automatic persisted queries (documents by their SHA-256), in bytes.
    graphql_persisted_queries_bytes: int = 8 * 1024 * 1024
    # Tenants whose schemas are kept in memory per process (least recently used dropped first).
    schema_cache_tenants: int = 1024
    # Largest document text (bytes); comments and string literals count, unlike tokens.
    graphql_max_document_bytes: int = 64 * 1024
    # Fields, fragment spreads and inline fragments of a document with its fragments expanded (checked before
    # graphql-core's validation, whose overlapping-fields rule is not linear).
    graphql_max_selections: int = 1000
    # Values an operation may ask for: a field costs 1 (+ its selection), times a list's size taken from
    # first/last/limit, the length of an `…Ids` list argument, or graphql_default_list_size (the standard
    # introspection query costs about 52,000).
    graphql_max_cost: int = 60000
    graphql_default_list_size: int = 10
    # Items of one list in a request's variables, and values (list items and object members) in all.
    graphql_max_list_items: int = 1000
    graphql_max_variable_values: int = 10000
    # Estimated bytes of parsed documents, and of compiled plans, kept by query text (each cache).
    graphql_cache_bytes: int = 32 * 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    rate_limit_per_minute: int = 0
    # Wrong credentials per user name and client address (and four times as many per address) before new
    # ones are answered 429 without checking them; the allowance refills at login_failures_per_minute.
    login_failures_burst: int = 5
    login_failures_per_minute: int = 6
    # Operations running over WebSocket (subscriptions mostly): per connection, and per process.
    max_subscriptions_per_connection: int = 20
    max_subscriptions: int = 1000
    # HTTP: the request head (request line and headers), the time to send it and each part of a body, and
    # how long a request may run: reads and writes, an import, a WebSocket connection. The mode switch
    # gets mode_switch_timeout_seconds + request_timeout_seconds.
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100
    header_timeout_seconds: float = 20.0
    body_timeout_seconds: float = 20.0
    request_timeout_seconds: float = 60.0
    import_timeout_seconds: float = 6 * 3600.0
    websocket_timeout_seconds: float = 8 * 3600.0
    # Addresses (or networks, 10.0.0.0/8) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto
    # are believed; empty = none (the peer address is the client).
    trusted_proxies: tuple[str, ...] = ()
    # Operability.
    access_log: bool = True
    log_format: str = "ucs"  # "ucs" (the reference's log line) or "json"
    # How often the server state (mode, schema generation, acknowledgements) is read again when the database
    # gives no signal of its changes (db_notify off, an engine without LISTEN, the listener reconnecting).
    mode_poll_seconds: float = 1.0
    mode_switch_timeout_seconds: float = 60.0
    # Longest wait for the database: connecting, a pooled connection, a lock, a write's retries (then 503).
    db_timeout_seconds: float = 5.0
    # Longest round trip of one PostgreSQL statement (0 = db_timeout_seconds); raise it for heavy maintenance.
    db_statement_timeout_seconds: float = 0.0
    db_pool_size: int = 16
    # PostgreSQL: changes of the server state and live events travel by LISTEN/NOTIFY. Off (or an engine that
    # refuses LISTEN: CockroachDB, YugabyteDB), each process polls the state and keeps its events to itself.
    db_notify: bool = True
    drain_seconds: float = 10.0

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
                 "allowed_hosts", "cors_origins", "trusted_proxies", "cors_methods", "cors_headers"}


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


SECTIONS = ("server", "database", "limits", "graphql", "security", "log")
# Keys of the entries of the configuration's arrays of tables ([[roles]], [[users]], ...).
ENTRY_KEYS: dict[str, frozenset[str]] = {
    "roles": frozenset({"name", "dbid", "enabled", "tasks"}),
    "users": frozenset({"name", "password_hash", "roles", "tenants", "enabled"}),
    "tokens": frozenset({"name", "user", "token_hash", "enabled"}),
    "profile_attributes": frozenset({"name", "type", "length", "default", "mandatory", "encrypt"}),
    "business_attributes": frozenset({"name", "dbid", "display_name", "description", "map_name", "cv_attributes",
                                      "values"}),
}
BUSINESS_VALUE_KEYS = frozenset({"name", "dbid", "display_name", "description"})
# Clear secrets in [[users]] or [[tokens]]: the access directory refuses them with its own message.
_CLEAR_SECRETS = frozenset({"password", "token", "secret"})
_SETTABLE = frozenset(f.name for f in fields(Settings)) - {"config_file"}


def _unknown(key: str, where: str, valid: set[str] | frozenset[str]) -> ConfigError:
    """The error for an unknown key: its name, where it is, and the nearest valid key when one is close."""
    near = difflib.get_close_matches(key, sorted(valid), n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    if not near and "[[" in where and key in _SETTABLE:
        hint = (f"; '{key}' is a top-level setting, and TOML gives every key written below a [section] or "
                "[[entry]] header to that section: move it above the first header")
    return ConfigError(f"unknown key '{key}' {where}{hint}")


def _section_name(section: str, key: str) -> str:
    """The Settings field a key of a [section] sets ('' when none)."""
    name = key
    if section == "database" and key == "url":
        name = "database_url"
    elif section == "graphql" and not key.startswith("graphql_"):
        name = f"graphql_{key}"
    elif section == "log" and key == "format":
        name = "log_format"
    return name if name in _SETTABLE else ""


def _section_keys(section: str) -> set[str]:
    keys = set(_SETTABLE)
    if section == "database":
        keys.add("url")
    elif section == "graphql":
        keys |= {k.removeprefix("graphql_") for k in _SETTABLE if k.startswith("graphql_")}
    elif section == "log":
        keys.add("format")
    return keys


def _check_entries(name: str, entries: Any) -> None:
    """Refuse unknown keys in the entries of an array of tables ([[roles]], [[users]], ...)."""
    valid = ENTRY_KEYS.get(name)
    if valid is None or not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        label = f" ('{entry['name']}')" if isinstance(entry.get("name"), str) else ""
        where = f"in [[{name}]] entry {i + 1}{label}"
        for key in entry:
            if key not in valid and not (name in ("users", "tokens") and key in _CLEAR_SECRETS):
                raise _unknown(key, where, valid)
        values = entry.get("values") if name == "business_attributes" else None
        for value in values if isinstance(values, list) else []:
            for key in value if isinstance(value, dict) else {}:
                if key not in BUSINESS_VALUE_KEYS:
                    raise _unknown(key, f"{where}, in a value of 'values'", BUSINESS_VALUE_KEYS)


def _flatten(doc: dict[str, Any]) -> dict[str, Any]:
    """Configuration file sections ([server], [database], [limits], ...) flattened to Settings fields.

    An unknown key or section is refused with its name and the nearest valid one: a misspelt setting must not
    be silently ignored.
    """
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _SETTABLE:
            _check_entries(key, value)
            out[key] = value
        elif key in SECTIONS and isinstance(value, dict):
            for sub, subval in value.items():
                name = _section_name(key, str(sub))
                if not name:
                    raise _unknown(str(sub), f"in [{key}]", _section_keys(key))
                _check_entries(name, subval)
                out[name] = subval
        elif isinstance(value, dict):
            near = difflib.get_close_matches(key, SECTIONS, n=1)
            hint = f"; did you mean [{near[0]}]?" if near else f"; the sections are {', '.join(SECTIONS)}"
            raise ConfigError(f"unknown section [{key}]{hint}")
        else:
            raise _unknown(key, "at the top level", _SETTABLE | set(SECTIONS))
    return out


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None,
    default_config: str | None = None,
) -> Settings:
    """Build Settings from the configuration file, the environment and explicit overrides.

    With no file named (`config_file`, UCS_CONFIG), `default_config` (DEFAULT_CONFIG_FILE unless given; ''
    for none) is read when it exists.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, name in _ENV.items():
        if var in env and env[var] != "":
            values[name] = env[var]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    default = DEFAULT_CONFIG_FILE if default_config is None else default_config
    if not values.get("config_file") and default and Path(default).is_file():
        values["config_file"] = default
    config_file = values.get("config_file")
    merged: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        try:
            merged.update(_flatten(tomllib.loads(path.read_text(encoding="utf-8"))))
        except (tomllib.TOMLDecodeError, ConfigError) as exc:
            raise ConfigError(f"configuration file {config_file}: {exc}") from exc
    merged.update(values)
    coerced = {k: _coerce(k, v) for k, v in merged.items()}
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
    for method in settings.cors_methods:
        if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z]+", method):
            raise ConfigError(f"cors_methods: {method!r} is not an HTTP method (for example GET or POST)")
    for header in settings.cors_headers:
        if not isinstance(header, str) or not re.fullmatch(r"[A-Za-z0-9-]+", header):
            raise ConfigError(f"cors_headers: {header!r} is not a header name (for example content-type)")
    if settings.graphql_max_batch < 1:
        raise ConfigError("graphql_max_batch must be at least 1")
    if settings.schema_cache_tenants < 1:
        raise ConfigError("schema_cache_tenants must be at least 1")
    for proxy in settings.trusted_proxies:
        try:
            ipaddress.ip_network(str(proxy), strict=False)
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {proxy!r} is not an IP address or network (10.0.0.0/8)") from exc
    positive = ("login_failures_burst", "login_failures_per_minute", "max_subscriptions_per_connection",
                "max_subscriptions", "max_header_bytes", "max_header_count", "header_timeout_seconds",
                "body_timeout_seconds", "request_timeout_seconds", "import_timeout_seconds",
                "websocket_timeout_seconds", "mode_poll_seconds")
    for name in positive:
        if getattr(settings, name) <= 0:
            raise ConfigError(f"configuration '{name}' must be above 0")


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of settings with some fields changed (tests and the CLI use it)."""
    return replace(settings, **changes)
