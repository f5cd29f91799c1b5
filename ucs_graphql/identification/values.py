"""How attribute values become identification index values: normalisation per key, then encoding.

A key's value is its attributes' components joined with US (0x1F), each component prefixed so that
encodings cannot collide: `=` plain text, `h` the SHA-256 of a long text, `k` the keyed hash of an
encrypted attribute. The same encoding serves indexing and querying, so both sides always agree.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from ucs_graphql.crypto.cipher import FieldCipher
from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import Unavailable
from ucs_graphql.metadata.model import AttributeSchema

SEP = "\x1f"
MAX_PLAIN = 120
MAX_VALUE = 1024
MAX_COMBINATIONS = 256
_NOT_DIGIT = re.compile(r"\D")


def normalize(kind: str | None, text: str) -> str:
    """Apply a key's normalisation: phone (digits, a leading + kept, 00 read as +), email, casefold."""
    if kind == "phone":
        stripped = text.strip()
        digits = _NOT_DIGIT.sub("", stripped)
        if stripped.startswith("+"):
            return "+" + digits
        if digits.startswith("00") and len(digits) > 2:
            return "+" + digits[2:]
        return digits
    if kind == "email":
        return text.strip().lower()
    if kind == "casefold":
        return unicodedata.normalize("NFKC", text).strip().casefold()
    return text


def canonical(attr: AttributeSchema, value: Any) -> str:
    """The text of a typed value (numbers and booleans in one canonical form)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if attr.type in ("double", "currency"):
        return repr(float(value))
    return jsonio.dumps_str(value)


def component(attr: AttributeSchema, value: Any, kind: str | None, cipher: FieldCipher | None) -> str:
    """The encoded component of one value of one key attribute."""
    text = normalize(kind, canonical(attr, value))
    if attr.encrypt:
        if cipher is None:
            raise Unavailable(f"'{attr.name}' is an encrypted attribute and the server has no encryption key "
                              "(set encryption_key or UCS_ENCRYPTION_KEY)")
        return "k" + cipher.digest(text)
    if len(text) > MAX_PLAIN:
        return "h" + hashlib.sha256(text.encode()).hexdigest()
    return "=" + text


def join(components: Sequence[str]) -> str:
    """The index value of a full set of components (hashed whole when too long for the column)."""
    value = SEP.join(components)
    if len(value) > MAX_VALUE:
        return "H" + hashlib.sha256(value.encode()).hexdigest()
    return value


def prefix(components: Sequence[str]) -> str:
    """The start of every index value whose first components are these (for a partially covered key)."""
    return SEP.join(components) + SEP


def combinations(per_attribute: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Every choice of one component per attribute (values of multi-valued attributes), capped."""
    return list(itertools.islice(itertools.product(*per_attribute), MAX_COMBINATIONS))
