"""HTTP Basic and Bearer credentials checked against the directory, with an in-memory cache.

The slow hash runs once per distinct credential: a verified `Authorization` value is remembered under an
HMAC digest keyed by a per-process random key (the secret itself is never kept), so the hot path pays one
fast digest. Wrong credentials are remembered the same way, so a client repeating them costs nothing; new
guesses pay the slow hash in a thread, a few at a time, and requests that come together with one new
credential share its one check. New credentials for a user name are checked only while its client address
has wrong guesses left (`LoginThrottle`); otherwise they are answered 429 at once, before the slow hash.
Credentials already verified are recognised first and are never throttled.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from typing import TypeVar

from ucs_graphql.access.directory import Account, Directory, Principal
from ucs_graphql.access.hashing import Hash, hash_secret, parse_hash, verify_secret
from ucs_graphql.access.ratelimit import LoginThrottle
from ucs_graphql.kit.errors import Throttled, Unauthenticated

log = logging.getLogger("ucs.auth")
V = TypeVar("V")

MISSING = "credentials are missing: send HTTP Basic credentials or 'Authorization: Bearer <token>'"
WRONG = "credentials are wrong or not accepted"


class Authenticator:
    """Turns an Authorization header value into a Principal, or raises Unauthenticated."""

    def __init__(self, directory: Directory, cache_size: int = 4096, concurrency: int = 4,
                 throttle: LoginThrottle | None = None) -> None:
        self.directory = directory
        self.throttle = throttle
        self.cache_size = cache_size
        self._key = secrets.token_bytes(32)
        self._known: OrderedDict[bytes, Principal] = OrderedDict()
        self._refused: OrderedDict[bytes, None] = OrderedDict()
        self._checking: dict[tuple[bytes, str], asyncio.Future[Principal]] = {}  # running, by digest and address
        self._slow = asyncio.Semaphore(concurrency)
        self._dummy: Hash | None = None
        self.slow_checks = 0  # how many times the slow hash ran (observability and tests)
        self.throttled = 0  # how many credentials were answered 429 unchecked

    async def authenticate(self, header: str | None, client: str = "-") -> Principal:
        """The caller of this Authorization value (401 when it is missing, malformed or wrong)."""
        if not header or not header.strip():
            raise Unauthenticated(MISSING)
        digest = hmac.new(self._key, header.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
        known = self._known.get(digest)
        if known is not None:
            self._known.move_to_end(digest)
            return known
        if digest in self._refused:
            raise Unauthenticated(WRONG)
        # Requests sent together with one new credential (a front-end's first page, after a restart) share its
        # one check: each its own would reserve a failure and the burst would answer the rest 429.
        # (By address too: the check reserves from that address's allowance, and answers 429 for it alone.)
        key = (digest, client)
        checking = self._checking.get(key)
        if checking is None:
            checking = self._checking[key] = asyncio.ensure_future(self._check(header, digest, client))
            checking.add_done_callback(functools.partial(self._checked, key))
        return await asyncio.shield(checking)

    def _checked(self, key: tuple[bytes, str], check: asyncio.Future[Principal]) -> None:
        del self._checking[key]
        if not check.cancelled():
            check.exception()  # retrieved, even when every request that waited for it has gone

    async def _check(self, header: str, digest: bytes, client: str) -> Principal:
        who, account, secret = self._parse(header)
        if self.throttle is not None:
            wait = self.throttle.reserve(who, client)
            if wait:
                self.throttled += 1
                raise Throttled(f"too many wrong credentials for '{who}' from {client}; retry in {wait} s",
                                retry_after=wait)
        if await self._verify(account, secret):
            assert account is not None
            if self.throttle is not None:
                self.throttle.verified(who, client)
            _remember(self._known, digest, account.principal, self.cache_size)
            return account.principal
        _remember(self._refused, digest, None, self.cache_size)
        log.warning("authentication failed for %s from %s", f"'{who}'" if account is not None else "an unknown name",
                    client)
        raise Unauthenticated(WRONG)

    def _parse(self, header: str) -> tuple[str, Account | None, str]:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise Unauthenticated("HTTP Basic credentials must be base64 of 'user:password'") from exc
            user, sep, password = decoded.partition(":")
            if not sep:
                raise Unauthenticated("HTTP Basic credentials must be base64 of 'user:password'")
            return user, self.directory.users.get(user), password
        if scheme.lower() == "bearer" and value:
            name = value.partition(".")[0]
            return name, self.directory.tokens.get(name), value
        raise Unauthenticated(MISSING)

    async def _verify(self, account: Account | None, secret: str) -> bool:
        stored = account.secret if account is not None else None
        async with self._slow:
            self.slow_checks += 1
            if stored is None:  # same cost as a real check, so timing does not reveal names
                await asyncio.to_thread(verify_secret, secret, self._dummy_hash())
                return False
            return await asyncio.to_thread(verify_secret, secret, stored)

    def _dummy_hash(self) -> Hash:
        if self._dummy is None:
            self._dummy = parse_hash(hash_secret(secrets.token_urlsafe(16)))
        return self._dummy


def _remember(cache: OrderedDict[bytes, V], key: bytes, value: V, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
