"""Slow salted hashes of passwords and API tokens, in the PHC string format.

`$scrypt$ln=14,r=8,p=1$<salt>$<hash>` is written by `ucs-graphql hash-password`; `$pbkdf2-sha256$i=N$<salt>$<hash>`
is read too (for platforms whose OpenSSL lacks scrypt). Salts and hashes are unpadded standard base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

SCRYPT_LN = 14  # n = 2**14, r = 8: 16 MiB and tens of milliseconds per hash
SCRYPT_R = 8
SCRYPT_P = 1
PBKDF2_MIN_ITERATIONS = 600_000
_HASH_BYTES = 32


class BadHash(ValueError):
    """A configured hash string cannot be read."""


@dataclass(frozen=True)
class Hash:
    """A parsed hash string."""

    scheme: str
    params: dict[str, int]
    salt: bytes
    digest: bytes

    @property
    def weak(self) -> bool:
        """True when the cost is below what `hash_secret` writes by default."""
        if self.scheme == "scrypt":
            return self.params["ln"] < SCRYPT_LN or self.params["r"] < SCRYPT_R
        return self.params["i"] < PBKDF2_MIN_ITERATIONS


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_secret(secret: str, *, ln: int = SCRYPT_LN) -> str:
    """The scrypt hash string of a password or token, with a fresh random salt."""
    salt = os.urandom(16)
    digest = _scrypt(secret.encode("utf-8"), salt, ln, SCRYPT_R, SCRYPT_P)
    return f"$scrypt$ln={ln},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def parse_hash(text: str) -> Hash:
    """Read a hash string; BadHash says what is wrong with it."""
    parts = text.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] not in ("scrypt", "pbkdf2-sha256"):
        raise BadHash("expected '$scrypt$ln=..,r=..,p=..$salt$hash' (from `ucs-graphql hash-password`)")
    scheme = parts[1]
    try:
        params = {k: int(v) for k, v in (item.split("=", 1) for item in parts[2].split(","))}
        salt, digest = _unb64(parts[3]), _unb64(parts[4])
    except (ValueError, binascii.Error) as exc:
        raise BadHash(f"the {scheme} parameters, salt or hash cannot be read") from exc
    wanted = {"ln", "r", "p"} if scheme == "scrypt" else {"i"}
    if set(params) != wanted or min(params.values()) < 1 or len(salt) < 8 or len(digest) < 16:
        raise BadHash(f"a {scheme} hash needs the parameters {', '.join(sorted(wanted))}, a salt and a hash")
    if scheme == "scrypt" and params["ln"] > 20:
        raise BadHash("scrypt ln above 20 needs more memory than a server should spend per request")
    return Hash(scheme, params, salt, digest)


def verify_secret(secret: str, stored: Hash) -> bool:
    """True when `secret` hashes to `stored` (constant-time comparison; slow by design)."""
    raw = secret.encode("utf-8")
    if stored.scheme == "scrypt":
        got = _scrypt(raw, stored.salt, stored.params["ln"], stored.params["r"], stored.params["p"],
                      len(stored.digest))
    else:
        got = hashlib.pbkdf2_hmac("sha256", raw, stored.salt, stored.params["i"], len(stored.digest))
    return hmac.compare_digest(got, stored.digest)


def _scrypt(raw: bytes, salt: bytes, ln: int, r: int, p: int, size: int = _HASH_BYTES) -> bytes:
    n = 1 << ln
    return hashlib.scrypt(raw, salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=size)
