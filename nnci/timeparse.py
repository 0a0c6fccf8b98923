"""Instants and spans of time: ISO 8601 date-times with a timezone, as seconds since 1970 (UTC).

An instant is a float of seconds since 1970-01-01T00:00Z (POSIX time: no leap seconds), so a job's
start is a magnitude like any other and columns of starts are numpy arrays. A float holds such a
number to a microsecond for the next few centuries, far below an interval of data.

A date-time must say its timezone (`Z`, `+01:00`, `-0500`): a wall-clock time alone names a
different instant in every place, and a grid's hours are hours of one timezone. Electricity Maps'
`Datetime (UTC)` column and EIA's `UTC time` columns state UTC in their header instead; the
readers pass `utc=True` for those.
"""

from __future__ import annotations

import datetime as _dt
import re

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?)?"
    r"\s*(?P<zone>Z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]+)")
_ISO_DURATION = re.compile(r"PT?(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
                   "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}  # fmt: skip
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


class TimeError(ValueError):
    """A date-time or duration that cannot be read; the message says why, `hint` how to write it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_instant(text: str, utc: bool = False) -> float:
    """Seconds since 1970-01-01T00:00Z of an ISO 8601 date-time; `utc` when the source states UTC."""
    written = text.strip()
    match = _ISO.fullmatch(written)
    if match is None:
        raise TimeError(f"`{written}` is not an ISO 8601 date and time", "write e.g. `2024-03-04T09:00Z`")
    zone = match["zone"]
    if zone is None and not utc:
        raise TimeError(
            f"`{written}` has no timezone", f"write `{written}Z` for UTC, or an offset such as `{written}+01:00`"
        )
    try:
        year, month, day = (int(part) for part in match["date"].split("-"))
        moment = _dt.datetime(
            year, month, day, int(match["hour"] or 0), int(match["minute"] or 0), int(match["second"] or 0),
            round(float(match["fraction"] or 0) * 1e6) if match["fraction"] else 0, tzinfo=_zone(zone),
        )  # fmt: skip
    except ValueError as error:
        raise TimeError(f"`{written}` is not a date and time: {error}", "write e.g. `2024-03-04T09:00Z`") from None
    return (moment - _EPOCH).total_seconds()


def _zone(zone: str | None) -> _dt.tzinfo:
    if zone is None or zone in ("Z", "UTC"):
        return _dt.UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"the offset {zone} is not one a clock has")
    return _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))


def format_instant(seconds: float) -> str:
    """`2024-03-04T09:00Z` (seconds shown only when not zero), always in UTC."""
    moment = _EPOCH + _dt.timedelta(seconds=round(float(seconds), 6))
    text = moment.strftime("%Y-%m-%dT%H:%M")
    if moment.second or moment.microsecond:
        text += moment.strftime(":%S") + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else "")
    return text + "Z"


def format_span(start: float, end: float) -> str:
    return f"{format_instant(start)}–{format_instant(end)}"


def parse_duration(text: str) -> float:
    """Seconds of a duration written `1h`, `30 min`, `15m`, `2 days` or ISO 8601 `PT1H`."""
    written = text.strip()
    iso = _ISO_DURATION.fullmatch(written)
    if iso is not None and any(iso.groups()):
        return float(int(iso["h"] or 0) * 3600 + int(iso["m"] or 0) * 60 + int(iso["s"] or 0))
    match = _DURATION.fullmatch(written)
    if match is None or match["unit"].lower() not in _DURATION_UNITS:
        raise TimeError(f"`{written}` is not a duration", "write e.g. `1h`, `30min` or `PT15M`")
    return float(match["number"]) * _DURATION_UNITS[match["unit"].lower()]


def format_duration(seconds: float) -> str:
    """`168 h`, `30 min`, `1 h 30 min`: the way a step or a window is said back."""
    seconds = float(seconds)
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        hours, minutes = divmod(int(seconds // 60), 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"{seconds:g} s"
