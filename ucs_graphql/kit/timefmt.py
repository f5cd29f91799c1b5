"""Date/time on the wire: `YYYY-MM-DDTHH:mm:ss.SSSZ` out; that form, or without millis or `Z`, in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?\Z"
)
_D = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


def now_utc() -> datetime:
    """The current time, UTC, truncated to milliseconds."""
    n = datetime.now(UTC)
    return n.replace(microsecond=(n.microsecond // 1000) * 1000)


def format_dt(value: datetime) -> str:
    """Render a datetime as the reference's `yyyy-MM-ddTHH:mm:ss.SSSZ` (UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    # Field by field: strftime reads the time zone file again at every call (and writes years below 1000
    # with fewer than four digits).
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}Z")


def parse_dt(text: str) -> datetime:
    """Parse a wire datetime (UTC when no offset); raises ValueError when it is not one."""
    m = _DT.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a date/time (yyyy-MM-ddTHH:mm:ss.SSSZ)")
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    dt = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss or 0), micro, tzinfo=UTC)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        from datetime import timedelta

        dt = dt - timedelta(minutes=offset)
    return dt.replace(microsecond=(dt.microsecond // 1000) * 1000)


def parse_date(text: str) -> date:
    """Parse a wire date (`YYYY-MM-DD`, or a datetime whose date part is taken)."""
    m = _D.match(text.strip())
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return parse_dt(text).date()


def to_millis(value: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(value.timestamp() * 1000)


def from_millis(ms: int) -> datetime:
    """The UTC datetime for milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
