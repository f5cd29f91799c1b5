"""JSON encoding and decoding with orjson (fast on the hot paths), failing as domain errors."""

from __future__ import annotations

from typing import Any

import orjson

from ucs_graphql.kit.errors import MalformedRequest


def dumps(value: Any) -> bytes:
    """Encode to JSON bytes."""
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    """Encode to a JSON string (for text columns)."""
    return orjson.dumps(value).decode()


def loads(data: bytes | str) -> Any:
    """Decode JSON; invalid input is a MalformedRequest."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"invalid JSON: {exc}") from exc
