"""Roles, users and API tokens read from the configuration file, checked once at start.

Roles group UCS tasks; users hold roles (a disabled role grants nothing) and may be bound to tenants;
tokens act as one user. Passwords and tokens are configured only as slow salted hashes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ucs_graphql.access.hashing import BadHash, Hash, parse_hash
from ucs_graphql.access.tasks import ALL_TASKS
from ucs_graphql.config import ConfigError

TOKEN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user's name, the tasks its enabled roles grant, its tenants."""

    name: str
    tasks: frozenset[str]
    tenants: frozenset[int] | None  # None: every tenant

    def may_use(self, tenant: int) -> bool:
        """True when the user is not bound to tenants, or is bound to this one."""
        return self.tenants is None or tenant in self.tenants


@dataclass(frozen=True)
class Account:
    """A user (or a token acting as one) with the hash its secret must match."""

    principal: Principal
    secret: Hash | None  # None: this user signs in with tokens only


@dataclass(frozen=True)
class Directory:
    """Users by name and tokens by name; empty when the server runs open."""

    users: Mapping[str, Account]
    tokens: Mapping[str, Account]
    weak_hashes: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        """True when no user is configured: every request is served without credentials."""
        return not self.users


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def _names(entry: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list")
    return value


def _hash(entry: Mapping[str, Any], key: str, where: str, weak: list[str], *, required: bool) -> Hash | None:
    for plain in ("password", "token", "secret"):
        if plain in entry:
            raise ConfigError(f"{where}: '{plain}' holds a clear secret; store only its hash as '{key}' "
                              "(run `ucs-graphql hash-password`)")
    text = _text(entry, key, where, required=required)
    if text is None:
        return None
    try:
        parsed = parse_hash(text)
    except BadHash as exc:
        raise ConfigError(f"{where}: '{key}' {exc}") from exc
    if parsed.weak:
        weak.append(where)
    return parsed


def _roles(raw: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """Role name → tasks it grants (empty for a disabled role)."""
    roles: dict[str, frozenset[str]] = {}
    for i, role in enumerate(raw):
        where = f"roles[{i}]"
        name = _text(role, "name", where)
        assert name is not None
        if name in roles:
            raise ConfigError(f"{where}: role '{name}' is defined twice")
        tasks = _names(role, "tasks", f"role '{name}'")
        for task in tasks:
            if task not in ALL_TASKS:
                near = difflib.get_close_matches(str(task), sorted(ALL_TASKS), n=1)
                hint = f"; did you mean '{near[0]}'?" if near else "; docs/access.md lists the tasks"
                raise ConfigError(f"role '{name}': unknown task '{task}'{hint}")
        roles[name] = frozenset(tasks) if role.get("enabled", True) is True else frozenset()
    return roles


def _tenants(user: Mapping[str, Any], where: str) -> frozenset[int] | None:
    if "tenants" not in user:
        return None
    tenants = _names(user, "tenants", where)
    if not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in tenants):
        raise ConfigError(f"{where}: 'tenants' must list positive tenant ids")
    return frozenset(tenants)


def build_directory(
    roles: Iterable[Mapping[str, Any]], users: Iterable[Mapping[str, Any]], tokens: Iterable[Mapping[str, Any]]
) -> Directory:
    """The directory of the configured roles, users and tokens; ConfigError names what is wrong."""
    granted = _roles(roles)
    weak: list[str] = []
    accounts: dict[str, Account] = {}
    disabled: set[str] = set()
    for i, user in enumerate(users):
        name = _text(user, "name", f"users[{i}]")
        assert name is not None
        where = f"user '{name}'"
        if name in accounts:
            raise ConfigError(f"{where} is defined twice")
        if ":" in name:
            raise ConfigError(f"{where}: a user name cannot contain ':' (HTTP Basic separates it)")
        tasks: set[str] = set()
        for role in _names(user, "roles", where):
            if role not in granted:
                raise ConfigError(f"{where}: unknown role '{role}'")
            tasks |= granted[role]
        enabled = user.get("enabled", True) is True
        if not enabled:
            disabled.add(name)
        secret = _hash(user, "password_hash", where, weak, required=False)
        principal = Principal(name, frozenset(tasks) if enabled else frozenset(), _tenants(user, where))
        accounts[name] = Account(principal, secret if enabled else None)
    by_token: dict[str, Account] = {}
    for i, token in enumerate(tokens):
        name = _text(token, "name", f"tokens[{i}]")
        assert name is not None
        where = f"token '{name}'"
        if not TOKEN_NAME.match(name) or name in by_token:
            raise ConfigError(f"{where}: names are unique, 1-64 letters, digits, '-' or '_'")
        owner = _text(token, "user", where)
        if owner not in accounts:
            raise ConfigError(f"{where}: unknown user '{owner}'")
        secret = _hash(token, "token_hash", where, weak, required=True)
        assert owner is not None
        usable = token.get("enabled", True) is True and owner not in disabled
        by_token[name] = Account(accounts[owner].principal, secret if usable else None)
    if by_token and not accounts:
        raise ConfigError("tokens need users: configure [[users]] for them to act as")
    return Directory(accounts, by_token, tuple(weak))
