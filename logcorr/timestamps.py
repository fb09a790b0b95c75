"""Log timestamps: ISO 8601 with or without zone, epoch s/ms/µs/ns, as µs since the epoch."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_zone(text: str | None) -> tzinfo:
    """`UTC`, `+01:00`/`-0530`, or an IANA name such as `Europe/Paris`."""
    if not text or text.upper() in ("UTC", "Z"):
        return UTC
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        digits = text[1:].replace(":", "")
        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
    from zoneinfo import ZoneInfo

    return ZoneInfo(text)


def epoch_us(value: float | int) -> int:
    """Epoch seconds, ms, µs or ns (told apart by magnitude) to µs."""
    if isinstance(value, int):  # exact: a float cannot hold ns since 1970 to the digit
        if value > 10**17:
            return value // 1000
        if value > 10**14:
            return value
        if value > 10**11:
            return value * 1000
        return value * 1_000_000
    v = float(value)
    if v > 1e17:
        return int(v // 1000)
    if v > 1e14:
        return int(v)
    if v > 1e11:
        return int(v * 1000)
    return int(round(v * 1_000_000))


def parse_timestamp(value: object, zone: tzinfo = UTC) -> tuple[int | None, bool]:
    """(µs since the epoch, True when the value carried no zone and `zone` was assumed)."""
    if value is None or isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        return epoch_us(value), False
    text = str(value).strip()
    if not text:
        return None, False
    if text[0].isdigit() and text.replace(".", "", 1).isdigit():
        return epoch_us(float(text) if "." in text else int(text)), False
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None, False
    assumed = dt.tzinfo is None
    if assumed:
        dt = dt.replace(tzinfo=zone)
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, assumed


def format_us(us: int | None) -> str:
    """µs since the epoch as RFC 3339 UTC with µs (`2026-11-25T10:00:00.123456Z`)."""
    if us is None:
        return ""
    return (EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def _to_us(dt: datetime) -> int:
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _clock(text: str) -> tuple[int, int, int, int]:
    """`HH:MM:SS[.ffffff]` → (h, m, s, µs)."""
    hms, _, frac = text.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    return h, m, s, int((frac + "000000")[:6]) if frac else 0


def parse_clf(text: str) -> int | None:
    """nginx/Apache `25/Nov/2026:10:00:00 +0000` → µs; None when it is not one."""
    try:
        date, _, zone = text.partition(" ")
        day, month, rest = date.split("/")
        year, clock = rest.split(":", 1)
        h, m, s, us = _clock(clock)
        offset = _offset(zone) if zone else UTC
        dt = datetime(int(year), _MONTHS[month.lower()], int(day), h, m, s, us, offset)
    except (ValueError, KeyError):
        return None
    return _to_us(dt)


def parse_bsd(text: str, zone: tzinfo = UTC, year: int | None = None) -> int | None:
    """syslog RFC 3164 `Nov 25 10:00:00` (no year, no zone: this year, `zone`) → µs."""
    try:
        month, day, clock = text.split()
        h, m, s, us = _clock(clock)
        dt = datetime(year or datetime.now(zone).year, _MONTHS[month.lower()], int(day), h, m,
                      s, us, zone)
    except (ValueError, KeyError):
        return None
    return _to_us(dt)


def parse_ctime(text: str, zone: tzinfo = UTC) -> int | None:
    """Apache error log `Wed Nov 25 10:00:00.123456 2026` (no zone: `zone`) → µs."""
    try:
        _, month, day, clock, year = text.split()
        h, m, s, us = _clock(clock)
        dt = datetime(int(year), _MONTHS[month.lower()], int(day), h, m, s, us, zone)
    except (ValueError, KeyError):
        return None
    return _to_us(dt)


@functools.lru_cache(maxsize=64)
def _offset(text: str) -> tzinfo:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
