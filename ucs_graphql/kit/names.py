"""Name rules of the reference: schema, attribute, extension and key names, and unauthorized strings."""

from __future__ import annotations

import re

from ucs_graphql.kit.errors import BadParameter, MissingParameter, ReservedWord

_CONTEXT_SERVICES = ["extension", "none", "profile", "service", "state", "task"]
_DATABASE = [
    "alter", "by", "comment", "constraint", "create", "cursor", "database", "delete", "from", "having",
    "identity", "index", "inner", "insert", "is", "join", "left", "null", "order", "outer", "prepare",
    "primary", "procedure", "return", "right", "select", "set", "size", "table", "truncate", "union",
    "update", "when", "where",
]
_TYPES = [
    "bigint", "binary", "bit", "blob", "boolean", "char", "clob", "currency", "date", "datetime", "decimal",
    "double", "float", "int", "integer", "long", "longvarbinary", "money", "nchar", "number", "numeric",
    "real", "smalldatetime", "smallint", "smallmoney", "string", "time", "timestamp", "tinyint",
    "varbinary", "varchar", "varchar2",
]
RESERVED_WORDS: frozenset[str] = frozenset(_CONTEXT_SERVICES + _DATABASE + _TYPES)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

EXTENSION_NAME_MAX = 26
KEY_NAME_MAX = 26
ATTRIBUTE_NAME_MAX = 30


def check_reserved(param: str, value: str) -> None:
    """Refuse a value equal (case-insensitively) to an unauthorized string."""
    if value.lower() in RESERVED_WORDS:
        raise ReservedWord(param, value)


def check_name(param: str, value: object, max_len: int) -> str:
    """Validate a schema/attribute/extension/key name and return it."""
    if value is None or value == "":
        raise MissingParameter(param)
    if not isinstance(value, str):
        raise BadParameter(param, f"'{value}' is not a string")
    if not _NAME.match(value):
        raise BadParameter(
            param, f"'{value}' must start with a letter followed by letters, digits or underscores"
        )
    if len(value) > max_len:
        raise BadParameter(param, f"'{value}' is longer than {max_len} characters")
    check_reserved(param, value)
    return value
