"""Time windows: `--since`/`--until` parsing and the window every source reads, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(value: str | None, now: datetime | None = None) -> datetime:
    """`15m`, `1h`, `2d` (ago), an ISO time, or `now`/None."""
    now = now or datetime.now(UTC)
    if value is None or value.strip().lower() == "now":
        return now
    m = _DURATION.match(value)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {value!r} (use 15m, 1h, 2d or an ISO time)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class Window:
    """A half-open time range `[start, end)` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, since: str, until: str | None = None, now: datetime | None = None):
        now = now or datetime.now(UTC)
        window = cls(parse_time(since, now), parse_time(until, now))
        if window.start >= window.end:
            raise ValueError(f"empty window: {window.start.isoformat()} .."
                             f" {window.end.isoformat()}")
        return window

    @property
    def start_us(self) -> int:
        return _us(self.start)

    @property
    def end_us(self) -> int:
        return _us(self.end)

    def split(self, step: timedelta | None = None) -> tuple[Window, Window]:
        """The two halves (for sources whose answer was cut at their limit); with `step`, cut
        at a whole multiple of it since the epoch (Tempo's seconds)."""
        mid = self.start + (self.end - self.start) / 2
        if step:
            steps = (mid - _EPOCH) // step
            mid = max(_EPOCH + steps * step, self.start + step)
        return Window(self.start, mid), Window(mid, self.end)

    def widened(self, step: timedelta) -> Window:
        """The smallest window of whole `step`s (since the epoch) that holds this one."""
        start = _EPOCH + ((self.start - _EPOCH) // step) * step
        end = _EPOCH + -((_EPOCH - self.end) // step) * step
        return Window(start, end)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def rfc3339(when: datetime) -> str:
    """UTC RFC 3339 with µs and a `Z` (what Jaeger's api_v3 takes)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(when: datetime) -> int:
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
