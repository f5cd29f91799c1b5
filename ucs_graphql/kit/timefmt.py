"""Date/time on the wire: `YYYY-MM-DDTHH:mm:ss.SSSZ` out; that form, or without millis or `Z`, in."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

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
    return _iso(value)


def _iso(value: datetime) -> str:
    """A datetime in UTC (aware or naive) as `yyyy-MM-ddTHH:mm:ss.SSSZ`, field by field: strftime reads the
    time zone file again at every call (and writes years below 1000 with fewer than four digits)."""
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}Z")


_EPOCH = datetime(1970, 1, 1)
_FAST_MS = (-2208988800000, 7258118400000)  # 1900-01-01 to 2200-01-01


# The second last formatted by `format_ms` and its text up to the milliseconds: the journey writes of one
# second (most of them are stamped with the current time) share it.
_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00.")


def format_ms(ms: int) -> str:
    """`format_dt(from_millis(ms))`, without the time zone conversion and strftime (a third of the time), for
    the years 1900 to 2199 (beyond, from_millis's float loses a millisecond now and then: the same text is
    kept for every value by taking that path there). The text up to the milliseconds is made once per second
    (a tenth of the time again)."""
    global _last_second
    if not _FAST_MS[0] <= ms < _FAST_MS[1]:
        return format_dt(from_millis(ms))
    second, milli = divmod(ms, 1000)
    last = _last_second
    if last[0] != second:
        last = _last_second = (second, _iso(_EPOCH + timedelta(seconds=second))[:-4])
    return f"{last[1]}{milli:03d}Z"


def now_ms() -> int:
    """The current time in milliseconds since the epoch (`to_millis(now_utc())`)."""
    return time.time_ns() // 1_000_000


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
