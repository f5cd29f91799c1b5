"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): what a request asks for and how a
refusal is answered (docs/access.md, "GraphQL over HTTP").

- The answer's media type follows `Accept`: `application/graphql-response+json` when the client names it at
  least as high as `application/json` (a request error is then a 4xx), else `application/json` (a request
  error is a 200, as clients written before the draft expect). A request error never has a `data` key.
- A request's parameters (`query`, `variables`, `operationName`, `extensions`) come from a JSON body (an
  object, or an array of them: a batch) or from a GET's query string; a parameter of the wrong type is a 400.
- Automatic persisted queries, as Apollo Client sends them (`extensions.persistedQuery`, version 1,
  `sha256Hash`): a known hash stands for its document, an unknown one answers `PERSISTED_QUERY_NOT_FOUND`
  (HTTP 200) so that the client sends the text with it, and a hash that does not match the text is a 400.
  Documents are kept in memory, the least recently used dropped past `graphql_persisted_queries_bytes`.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from ucs_graphql.kit import jsonio
from ucs_graphql.kit.error_table import row_for
from ucs_graphql.kit.errors import MalformedRequest

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_MEDIA = re.compile(r"\s*([^;,\s]+)\s*((?:;[^,]*)?)")
_Q = re.compile(r";\s*q\s*=\s*([0-9.]+)")
_HASH = re.compile(r"[0-9a-f]{64}")
_PARAMETERS = ("query", "variables", "operationName", "extensions")


class Refusal(Exception):
    """A request the server does not run: its HTTP status (under either media type) and GraphQL error."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, code: str | None = None,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(message)
        row = row_for(kind)
        self.status = row.status if status is None else status
        self.message = message
        self.extensions = {"code": code or row.graphql_code, "status": self.status, "ucs_code": row.code}
        self.headers = headers

    def payload(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": self.extensions}]}


def bad_request(message: str) -> Refusal:
    return Refusal("malformed_request", message)


def answer_type(accept: str) -> str:
    """The media type of the answer: graphql-response+json when Accept ranks it at least as high as
    application/json (or JSON's wildcards); application/json otherwise, and without an Accept header."""
    if "graphql-response" not in accept:
        return JSON
    best = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for match in _MEDIA.finditer(accept):
        media = match.group(1).lower()
        q_match = _Q.search(match.group(2))
        try:
            q = float(q_match.group(1)) if q_match else 1.0
        except ValueError:
            q = 0.0
        if media in best:
            best[media] = max(best[media], q)
        elif media in ("*/*", "application/*"):
            best[JSON] = max(best[JSON], q)
    return GRAPHQL_RESPONSE if best[GRAPHQL_RESPONSE] > 0 and best[GRAPHQL_RESPONSE] >= best[JSON] else JSON


@dataclass(slots=True)
class Params:
    """One operation's request parameters, their types checked."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def params_of(raw: Any) -> Params:
    """The parameters of one operation of a JSON body (an object)."""
    if not isinstance(raw, dict):
        raise bad_request("a GraphQL request is a JSON object with a 'query' (or a JSON array of them)")
    query = raw.get("query")
    if query is not None and not isinstance(query, str):
        raise bad_request("'query' must be a string holding a GraphQL document")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise bad_request("'variables' must be a JSON object (or null)")
    name = raw.get("operationName")
    if name is not None and not isinstance(name, str):
        raise bad_request("'operationName' must be a string (or null)")
    extensions = raw.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise bad_request("'extensions' must be a JSON object (or null)")
    return Params(query, variables, name, extensions)


def params_of_query_string(query_string: bytes) -> Params:
    """The parameters of a GET: `variables` and `extensions` are URL-encoded JSON."""
    try:
        pairs = parse_qs(query_string.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                         errors="strict")
    except UnicodeDecodeError as exc:
        raise bad_request("the query string is not UTF-8") from exc
    raw: dict[str, Any] = {}
    for name in _PARAMETERS:
        values = pairs.get(name)
        if not values:
            continue
        if len(values) > 1:
            raise bad_request(f"the parameter '{name}' is given {len(values)} times")
        value: Any = values[0]
        if name in ("variables", "extensions"):
            try:
                value = jsonio.loads_request(value.encode("utf-8", "surrogatepass")) if value else None
            except MalformedRequest as err:
                raise bad_request(f"'{name}' must be URL-encoded JSON: {err.description}") from err
        raw[name] = value
    return params_of(raw)


class PersistedQueries:
    """Documents by the SHA-256 of their text, least recently used dropped past `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._docs: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._docs)

    def resolve(self, params: Params) -> None:
        """Fill in the document a persisted-query hash stands for, store a new one, or refuse."""
        persisted = (params.extensions or {}).get("persistedQuery")
        if persisted is None:
            return
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise bad_request("extensions.persistedQuery must be an object with version 1 and a sha256Hash")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or _HASH.fullmatch(digest) is None:
            raise bad_request("extensions.persistedQuery.sha256Hash must be 64 lower-case hexadecimal digits")
        if params.query is None:
            known = self._docs.get(digest)
            if known is None:
                raise Refusal("persisted_query_not_found", "PersistedQueryNotFound")
            self._docs.move_to_end(digest)
            params.query = known
            return
        if hashlib.sha256(params.query.encode("utf-8", "surrogatepass")).hexdigest() != digest:
            raise bad_request("extensions.persistedQuery.sha256Hash is not the SHA-256 of the query")
        self._store(digest, params.query)

    def _store(self, digest: str, query: str) -> None:
        weight = _weight(query)
        if digest in self._docs or weight > self.limit:
            return
        self._docs[digest] = query
        self.size += weight
        while self.size > self.limit:
            _, dropped = self._docs.popitem(last=False)
            self.size -= _weight(dropped)


def _weight(query: str) -> int:
    """The bytes a stored document holds: its text (UTF-8) and its key, with the entry's overhead."""
    return len(query.encode("utf-8", "surrogatepass")) + 64 + 100
