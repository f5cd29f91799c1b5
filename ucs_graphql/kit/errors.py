"""Domain error kinds. They carry no HTTP status: the adapters map each kind in `error_table`."""

from __future__ import annotations


class UcsError(Exception):
    """Base of every expected failure; `description` is what the client reads."""

    kind = "internal"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class MalformedRequest(UcsError):
    """The request body or syntax cannot be read (invalid JSON, not an object...)."""

    kind = "malformed_request"


class BadParameter(UcsError):
    """A parameter has a wrong value; rendered as the reference's "bad parameter" message."""

    kind = "bad_parameter"

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"bad parameter '{param}' reason : {reason}")
        self.param = param
        self.reason = reason


class MissingParameter(BadParameter):
    """A mandatory parameter is absent."""

    kind = "missing_parameter"

    def __init__(self, param: str, reason: str | None = None) -> None:
        super().__init__(param, reason or "mandatory parameter is missing")


class ReservedWord(BadParameter):
    """A name or value equals one of the reference's unauthorized strings."""

    kind = "reserved_word"

    def __init__(self, param: str, word: str) -> None:
        UcsError.__init__(self, f"bad parameter '{param}' reason : '{word}' keyword is not authorized.")
        self.param = param
        self.reason = f"'{word}' keyword is not authorized."


class NotFound(UcsError):
    """The addressed resource does not exist."""

    kind = "not_found"


class AlreadyExists(UcsError):
    """A resource with the same identity (or unique values) already exists."""

    kind = "already_exists"


class StateConflict(UcsError):
    """The operation does not fit the resource's lifecycle (e.g. completing a completed task)."""

    kind = "state_conflict"


class ModeForbidden(UcsError):
    """The operation is not allowed in the current server mode."""

    kind = "mode_forbidden"


class Forbidden(UcsError):
    """The caller lacks the access task or the tenant for this operation."""

    kind = "forbidden"


class TenantForbidden(Forbidden):
    """The signed-in user may not use the request's tenant; `tenants` are those they may use."""

    def __init__(self, description: str, tenants: list[int]) -> None:
        super().__init__(description)
        self.tenants = tenants


class Unauthenticated(UcsError):
    """Credentials are missing or wrong."""

    kind = "unauthenticated"


class UnsupportedMediaType(UcsError):
    """The request's Content-Type is not one the operation reads."""

    kind = "unsupported_media_type"


class OverLimit(UcsError):
    """A request asks for more than a configured limit allows (a GraphQL document's size or cost, a list of
    ids too long)."""

    kind = "over_limit"


class PayloadTooLarge(UcsError):
    """The request body exceeds the configured limit."""

    kind = "payload_too_large"


class UnreadableValue(UcsError):
    """A stored value of an encrypted attribute cannot be decrypted (damaged, or not written for its tenant and
    attribute): the read that includes it fails, other reads do not."""

    kind = "unreadable_value"


class Unavailable(UcsError):
    """The server cannot serve now (mode switching, contention, database away, throttling)."""

    kind = "unavailable"

    def __init__(self, description: str, retry_after: int = 1) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class Throttled(Unavailable):
    """The caller must slow down (too many wrong credentials, too many operations on one WebSocket);
    `retry_after` says for how long."""

    kind = "too_many_requests"


class RequestTimeout(UcsError):
    """The client stopped sending its request."""

    kind = "request_timeout"
