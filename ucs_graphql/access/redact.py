"""Masking of secrets in log lines: credentials, tokens, passwords in URLs or JSON."""

from __future__ import annotations

import logging
import re

MASK = "***"

_PATTERNS = [
    # Authorization / Proxy-Authorization header values, in any "name: value" or "name=value" form.
    (re.compile(r"((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\",;&\s]+(?:\s+[^'\",;&\s]+)?", re.I),
     r"\1" + MASK),
    (re.compile(r"\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{4,}", re.I), r"\1 " + MASK),
    # Secrets in query strings and form bodies: ?password=..., &access_token=...
    (re.compile(r"((?:^|[?&;\s])(?:password|passwd|pwd|secret|token|access_token|api_key|apikey|"
                r"client_secret|password_hash|token_hash)=)[^&;\s]*", re.I), r"\1" + MASK),
    # Secrets in JSON documents: "password": "..."
    (re.compile(r"(\"(?:password|passwd|secret|token|access_token|api_key|password_hash|token_hash)\"\s*:\s*\")"
                r"[^\"]*", re.I), r"\1" + MASK),
]


# The words one of which every pattern above needs: ASCII text holding none of them (lower-cased) is left as it
# is after one look instead of one search per pattern. Other text goes through the patterns, whose
# case-insensitive matching also finds non-ASCII letters that fold to ASCII ones.
_WORDS = ("authorization", "basic", "bearer", "passw", "pwd", "secret", "token", "apikey", "api_key")


def redact(text: str) -> str:
    """The text with every credential-looking value replaced by ***."""
    if text.isascii():
        lowered = text.lower()
        if not any(word in lowered for word in _WORDS):
            return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
