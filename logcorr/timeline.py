"""A trace's records from many files as one story: filtered, clock-corrected, merged by time."""

from __future__ import annotations

from collections.abc import Iterable

from logcorr.formats.common import normalize_level
from logcorr.ids import normalize_id
from logcorr.record import Record


class Timeline:
    """Records in merged order with each one's offset (ms) from the first (None: time
    unknown)."""

    def __init__(self, records: list[Record], offsets_ms: list[float | None] | None = None
                 ) -> None:
        self.records = records
        self.offsets_ms = [] if offsets_ms is None else offsets_ms

    @property
    def services(self) -> list[str]:
        return sorted({r.service for r in self.records})

    def __len__(self) -> int:
        return len(self.records)


def parse_shifts(specs: Iterable[str]) -> dict[str, int]:
    """`SERVICE=±MS` clock corrections → {service: µs to add to its timestamps}."""
    shifts = {}
    for spec in specs:
        service, sep, ms = spec.partition("=")
        if not sep or not service:
            raise ValueError(f"bad --shift {spec!r}: expected SERVICE=MILLISECONDS")
        shifts[service] = round(float(ms) * 1000)
    return shifts


def select(
    records: Iterable[Record], *, span: str | None = None, levels: Iterable[str] = (),
) -> list[Record]:
    """Keep the records of one span and/or some levels (`warning` also keeps `warn`)."""
    span_id = normalize_id(span) if span else None
    wanted = {normalize_level(lvl) for lvl in levels}
    return [
        r for r in records
        if (span_id is None or r.span_id == span_id) and (not wanted or r.level in wanted)
    ]


def merge(records: Iterable[Record], shifts: dict[str, int] | None = None) -> Timeline:
    """Sort by (corrected) time; ties keep file then line order. A record without a time sorts
    where `sort_us` puts it (its file's neighbours); one with neither comes last."""
    shifts = shifts or {}
    order = list(records)
    for r in order:
        if r.ts_us is not None and r.service in shifts:
            r.ts_us += shifts[r.service]
            r.sort_us = r.ts_us
        elif r.ts_us is not None and r.sort_us is None:
            r.sort_us = r.ts_us
        elif r.sort_us is not None and r.service in shifts:
            r.sort_us += shifts[r.service]
    order.sort(key=lambda r: (r.sort_us is None, r.sort_us or 0, r.file, r.line))
    first = next((r.ts_us for r in order if r.ts_us is not None), None)
    offsets = [
        None if r.ts_us is None or first is None else (r.ts_us - first) / 1000 for r in order
    ]
    return Timeline(order, offsets)
