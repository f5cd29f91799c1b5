"""AES-GCM field cipher with a keyed hash for lookups.

Values are sealed as `enc:r1:<base64>` (random nonce) or `enc:d1:<base64>` (nonce derived from the value
with a keyed hash, so equal values give equal ciphertext; used where the database must compare values,
such as an extension's unique attributes). `digest` is the keyed hash the identification index stores.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ucs_graphql.config import ConfigError

PREFIX_RANDOM = "enc:r1:"
PREFIX_DETERMINISTIC = "enc:d1:"
NONCE_BYTES = 12


class DecryptError(Exception):
    """A sealed value cannot be opened with the configured key."""


def parse_key(text: str) -> bytes:
    """The 32 key bytes of a base64 (standard or URL-safe) key; ConfigError when it is not one."""
    raw = text.strip()
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            key = decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(key) == 32:
            return key
    raise ConfigError("encryption_key must be 32 bytes in base64 (for example: openssl rand -base64 32)")


def _derive(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, label, hashlib.sha256).digest()


class FieldCipher:
    """Seals and opens attribute values; computes keyed digests for the identification index."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_derive(key, b"ucs-graphql field encryption"))
        self._siv_key = _derive(key, b"ucs-graphql deterministic nonce")
        self._mac_key = _derive(key, b"ucs-graphql identification digest")
        self.fingerprint = _derive(key, b"ucs-graphql key fingerprint").hex()[:16]

    def seal(self, plain: str, *, deterministic: bool = False) -> str:
        """Encrypt a string value."""
        data = plain.encode()
        if deterministic:
            nonce = hmac.new(self._siv_key, data, hashlib.sha256).digest()[:NONCE_BYTES]
            prefix = PREFIX_DETERMINISTIC
        else:
            nonce = os.urandom(NONCE_BYTES)
            prefix = PREFIX_RANDOM
        return prefix + base64.b64encode(nonce + self._aead.encrypt(nonce, data, None)).decode()

    def open(self, sealed: str) -> str:
        """Decrypt a value made by `seal`."""
        try:
            blob = base64.b64decode(sealed[len(PREFIX_RANDOM):])
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], None).decode()
        except (InvalidTag, binascii.Error, ValueError) as err:
            raise DecryptError("an encrypted value cannot be decrypted with the configured key") from err

    def digest(self, text: str) -> str:
        """The keyed hash of a value (hex), what the identification index keeps for encrypted attributes."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()


def is_sealed(value: object) -> bool:
    """Whether a stored value is ciphertext made by FieldCipher."""
    return isinstance(value, str) and (value.startswith(PREFIX_RANDOM) or value.startswith(PREFIX_DETERMINISTIC))
