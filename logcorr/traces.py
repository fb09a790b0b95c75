"""One row per trace id over whole files: lines, services, errors, first/last time, duration."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from logcorr.readers import Broken, read_records
from logcorr.timestamps import format_us, parse_timestamp

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class TraceSummary:
    trace_id: str
    lines: int = 0
    services: set[str] = field(default_factory=set)
    errors: int = 0
    first_us: int | None = None
    last_us: int | None = None

    @property
    def duration_ms(self) -> float:
        if self.first_us is None or self.last_us is None:
            return 0.0
        return (self.last_us - self.first_us) / 1000

    def as_dict(self) -> dict:
        return {
            "trace_id": self.trace_id,
            "lines": self.lines,
            "services": sorted(self.services),
            "errors": self.errors,
            "first": format_us(self.first_us) or None,
            "last": format_us(self.last_us) or None,
            "duration_ms": round(self.duration_ms, 3),
        }


def parse_since(text: str, now: float | None = None) -> int:
    """An ISO time or an age (`90s`, `10m`, `2h`, `1d`) → µs since the epoch."""
    m = _AGE.fullmatch(text.strip())
    if m:
        now = time.time() if now is None else now
        return int((now - float(m.group(1)) * _UNIT_S[m.group(2)]) * 1_000_000)
    us, _ = parse_timestamp(text)
    if us is None:
        raise ValueError(f"bad --since {text!r}: expected an ISO time or an age like 10m")
    return us


def summarize(
    files: list[str],
    *,
    zone: tzinfo = UTC,
    since_us: int | None = None,
    services: Iterable[str] = (),
    errors_only: bool = False,
    progress: bool = False,
    warnings: list[str] | None = None,
) -> tuple[list[TraceSummary], Broken]:
    """Summaries of every trace in `files`, newest first (64- and 128-bit ids folded together).

    A file that cannot be read is named in `warnings` (`PATH: reason`) and skipped.
    """
    broken = Broken()
    by_low: dict[str, TraceSummary] = {}
    for path in _progress(files, progress):
        try:
            _add_file(path, broken, zone, by_low)
        except (OSError, EOFError) as exc:
            if warnings is None:
                raise
            from logcorr.scan import describe

            warnings.append(describe(path, exc))
    wanted = set(services)
    rows = [
        r for r in by_low.values()
        if (since_us is None or (r.last_us or 0) >= since_us)
        and (not wanted or r.services & wanted)
        and (not errors_only or r.errors)
    ]
    rows.sort(key=lambda r: r.first_us or 0, reverse=True)
    return rows, broken


def _add_file(path: str, broken: Broken, zone: tzinfo, by_low: dict[str, TraceSummary]) -> None:
    """Fold one file's records into the summaries."""
    for rec in read_records(path, broken, zone):
        if rec.trace_id is None:
            continue
        row = by_low.get(rec.trace_id[-16:])
        if row is None:
            row = by_low[rec.trace_id[-16:]] = TraceSummary(rec.trace_id)
        elif len(rec.trace_id) > len(row.trace_id):
            row.trace_id = rec.trace_id
        row.lines += 1
        row.services.add(rec.service)
        row.errors += rec.error
        if rec.ts_us is not None:
            row.first_us = rec.ts_us if row.first_us is None else min(row.first_us, rec.ts_us)
            row.last_us = rec.ts_us if row.last_us is None else max(row.last_us, rec.ts_us)


def _progress(files: list[str], show: bool):
    if not show:
        return files
    from rich.progress import track

    return track(files, description="reading", transient=True, console=_stderr())


def _stderr():
    from rich.console import Console

    return Console(stderr=True)


def print_table(rows: list[TraceSummary]) -> None:
    """A rich table on stdout (plain when not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for name, justify in (("trace id", "left"), ("lines", "right"), ("services", "left"),
                          ("errors", "right"), ("first", "left"), ("last", "left"),
                          ("duration ms", "right")):
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(r.trace_id, str(r.lines), ",".join(sorted(r.services)),
                      f"[red]{r.errors}[/]" if r.errors else "0", format_us(r.first_us),
                      format_us(r.last_us), f"{r.duration_ms:.1f}")
    Console(width=200).print(table)
