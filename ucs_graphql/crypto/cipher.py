"""AES-GCM field cipher bound to where a value belongs, with a keyed hash for lookups.

A value is sealed as `enc:r2:<key id>:<base64>` (random nonce) or `enc:d2:<key id>:<base64>` (nonce derived
from the value with a keyed hash, so equal values give equal ciphertext; used where the database must compare
values, such as an extension's unique attributes). The key id names the key (its version) that sealed the
value. The associated data authenticated with every value is its Binding, the tenant, level, extension and
attribute it belongs to, with the format version and key id: a value copied into another tenant, attribute or
extension, or opened with another key, fails authentication. The owner (customer) is not bound, so a merge
moves sealed values without re-encryption.

The first format, `enc:r1:`/`enc:d1:`, bound nothing. Values of that format are opened only by the upgrade
(`ucs_graphql.crypto.reencrypt`), which seals them again in the current format. `digest` is the keyed hash the
identification index stores.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ucs_graphql.config import ConfigError

FORMAT = 2
PREFIX_RANDOM = "enc:r2:"
PREFIX_DETERMINISTIC = "enc:d2:"
LEGACY_PREFIXES = ("enc:r1:", "enc:d1:")
NONCE_BYTES = 12


class DecryptError(Exception):
    """A sealed value cannot be opened: damaged, sealed with another key, or not sealed for this binding."""


@dataclass(frozen=True)
class Binding:
    """Where a sealed value belongs: a profile attribute (extension '') or an attribute of an extension record.
    Names are compared case-insensitively, as the schemas compare them."""

    tenant: int
    level: str
    extension: str
    attribute: str

    def associated_data(self, key_id: str) -> bytes:
        """The authenticated associated data of a value sealed with key `key_id` (JSON: unambiguous)."""
        fields = ["ucs-graphql field", FORMAT, key_id, self.tenant, self.level, self.extension.lower(),
                  self.attribute.lower()]
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


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


def sealed_format(value: object) -> int | None:
    """The format version of a value that has the form of ciphertext (2, or 1 for the first format); None for
    any other value. Only values of encrypted attributes are ever read as ciphertext."""
    if not isinstance(value, str):
        return None
    if value.startswith((PREFIX_RANDOM, PREFIX_DETERMINISTIC)):
        return FORMAT
    if value.startswith(LEGACY_PREFIXES):
        return 1
    return None


class FieldCipher:
    """Seals and opens attribute values; computes keyed digests for the identification index."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_derive(key, b"ucs-graphql field encryption"))
        self._siv_key = _derive(key, b"ucs-graphql deterministic nonce")
        self._mac_key = _derive(key, b"ucs-graphql identification digest")
        self.fingerprint = _derive(key, b"ucs-graphql key fingerprint").hex()[:16]
        # The key version written in every sealed value (the fingerprint's first half).
        self.key_id = self.fingerprint[:8]

    def seal(self, plain: str, binding: Binding, *, deterministic: bool = False) -> str:
        """Encrypt a string value for the place `binding` names."""
        data = plain.encode()
        aad = binding.associated_data(self.key_id)
        if deterministic:
            nonce = hmac.new(self._siv_key, len(aad).to_bytes(4, "big") + aad + data,
                             hashlib.sha256).digest()[:NONCE_BYTES]
            prefix = PREFIX_DETERMINISTIC
        else:
            nonce = os.urandom(NONCE_BYTES)
            prefix = PREFIX_RANDOM
        return f"{prefix}{self.key_id}:" + base64.b64encode(nonce + self._aead.encrypt(nonce, data, aad)).decode()

    def open(self, sealed: str, binding: Binding) -> str:
        """Decrypt a value sealed by `seal` for this same binding (DecryptError otherwise)."""
        if sealed_format(sealed) != FORMAT:
            raise DecryptError("the value is not in the current encrypted format")
        key_id, sep, body = sealed[len(PREFIX_RANDOM):].partition(":")
        if not sep:
            raise DecryptError("the encrypted value has no key id")
        if key_id != self.key_id:
            raise DecryptError(f"the value was encrypted with key {key_id[:8]!r}, not the configured key "
                               f"{self.key_id!r}")
        try:
            blob = base64.b64decode(body, validate=True)
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                      binding.associated_data(key_id)).decode()
        except (InvalidTag, binascii.Error, ValueError) as err:
            raise DecryptError("the encrypted value fails authentication (damaged, or not written for this "
                               "tenant and attribute)") from err

    def open_legacy(self, sealed: str) -> str:
        """Decrypt a value of the first format (no binding); only the upgrade calls this."""
        if sealed_format(sealed) != 1:
            raise DecryptError("the value is not in the first encrypted format")
        try:
            blob = base64.b64decode(sealed[len(LEGACY_PREFIXES[0]):], validate=True)
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], None).decode()
        except (InvalidTag, binascii.Error, ValueError) as err:
            raise DecryptError("the encrypted value cannot be decrypted with the configured key") from err

    def digest(self, text: str) -> str:
        """The keyed hash of a value (hex), what the identification index keeps for encrypted attributes."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()
