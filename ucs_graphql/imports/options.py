"""The `description` of a bulk import (CV.WS.PROF.IMPORT.1): its fields, defaults and checks."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from ucs_graphql.kit.errors import BadParameter, MissingParameter
from ucs_graphql.metadata.model import coerce_bool, coerce_int

DEFAULT_BATCH = 64
MAX_BATCH = 10_000
FIELDS = ("format", "profiles", "id-key", "delimiter", "batch-size", "max-errors", "encoding", "start-from-index",
          "create-log")


@dataclass(frozen=True)
class ImportOptions:
    """What the description asks for (`max_errors` None: no limit)."""

    profiles: str | None = None
    id_key: str | None = None
    delimiter: str = ","
    batch_size: int = DEFAULT_BATCH
    max_errors: int | None = None
    encoding: str = "utf-8"
    start_from_index: int = 0
    create_log: bool = False


def _count(body: dict[str, Any], name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = body.get(name)
    if raw is None:
        return default
    value = coerce_int(name, raw)
    if value < low:
        raise BadParameter(name, f"{value} is below {low}")
    if high is not None and value > high:
        raise BadParameter(name, f"{value} is above {high}")
    return value


# Codecs that are text encodings by name but not file encodings: no file is written in them, and their
# decoders fail in ways of their own.
_NOT_FILE_ENCODINGS = {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape"}


def _encoding(raw: Any) -> str:
    """The codec of an `encoding` name: a text encoding (not rot13, zlib_codec, base64_codec...)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        raise BadParameter("encoding", f"'{str(raw)[:64]}' is not an encoding name")
    try:
        name = codecs.lookup(raw.strip()).name
        "\n".encode(name)  # a LookupError for codecs that are not text encodings
        b"".decode(name)
    except (LookupError, UnicodeError, ValueError, TypeError) as err:
        raise BadParameter("encoding", f"'{raw}' is not a known text encoding (UTF-8, ISO-8859-1, UTF-16, "
                                       "windows-1252...)") from err
    if name in _NOT_FILE_ENCODINGS:
        raise BadParameter("encoding", f"'{raw}' is not a file encoding: use UTF-8, ISO-8859-1, UTF-16...")
    # UTF-8 files written with a byte order mark are read as UTF-8 too.
    return "utf-8-sig" if name == "utf-8" else name


def parse_description(body: Any) -> ImportOptions:
    """Check a description object; `format` must be CSV (JSON arrays are not supported, as the reference says)."""
    if not isinstance(body, dict):
        raise BadParameter("description", "the description must be a JSON object")
    unknown = [k for k in body if k not in FIELDS]
    if unknown:
        raise BadParameter(unknown[0], f"'{unknown[0]}' is not a field of the import description "
                                       f"({', '.join(FIELDS)})")
    fmt = body.get("format")
    if fmt is None:
        raise MissingParameter("format")
    if not isinstance(fmt, str) or fmt.strip().lower() not in ("csv", "json"):
        raise BadParameter("format", f"'{fmt}' is not a format: use \"csv\"")
    if fmt.strip().lower() == "json":
        raise BadParameter("format", "importing profiles as a JSON array is not supported: use \"csv\"")
    delimiter = body.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise BadParameter("delimiter", f"'{delimiter}' is not one character (other than a quote or a line end)")
    profiles, id_key = body.get("profiles"), body.get("id-key")
    for name, value in (("profiles", profiles), ("id-key", id_key)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise BadParameter(name, f"'{value}' is not a non-empty string")
    return ImportOptions(
        profiles=profiles,
        id_key=id_key,
        delimiter=delimiter,
        batch_size=_count(body, "batch-size", DEFAULT_BATCH, 1, MAX_BATCH) or DEFAULT_BATCH,
        max_errors=_count(body, "max-errors", None, 0),
        encoding=_encoding(body.get("encoding", "UTF-8")),
        start_from_index=_count(body, "start-from-index", 0, 0) or 0,
        create_log=coerce_bool("create-log", body.get("create-log", False)),
    )
