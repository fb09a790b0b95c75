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
    use_index: bool = True,
    index_path: str | None = None,
) -> tuple[list[TraceSummary], Broken]:
    """Summaries of every trace in `files`, newest first (64- and 128-bit ids folded together).

    Where an index (`logcorr index`) holds a file fresh, its summary is read from there when
    an earlier run kept it, and kept there otherwise: a second run reads no log line again.
    A file that cannot be read is named in `warnings` (`PATH: reason`) and skipped.
    `progress` shows a bar of the bytes read on stderr.
    """
    broken = Broken()
    by_low: dict[str, TraceSummary] = {}
    idx = _open_index(files, index_path) if use_index and files else None
    with _byte_progress(files, progress) as advance:
        for path in files:
            try:
                _add_file(path, broken, zone, by_low, idx, advance)
            except (OSError, EOFError) as exc:
                if warnings is None:
                    raise
                from logcorr.scan import describe

                warnings.append(describe(path, exc))
    if idx is not None:
        idx.close()
    wanted = set(services)
    rows = [
        r for r in by_low.values()
        if (since_us is None or (r.last_us or 0) >= since_us)
        and (not wanted or r.services & wanted)
        and (not errors_only or r.errors)
    ]
    rows.sort(key=lambda r: r.first_us or 0, reverse=True)
    return rows, broken


def _open_index(files: list[str], index_path: str | None):
    """The index beside the logs, for reading and keeping summaries; None without one (or
    where it cannot be written)."""
    import sqlite3

    from logcorr.index import Index
    from logcorr.paths import existing_index

    path = existing_index(files, index_path)
    if path is None or Index.open_existing(path) is None:
        return None
    try:
        return Index(path)
    except (sqlite3.Error, RuntimeError):
        return None


def _add_file(path: str, broken: Broken, zone: tzinfo, by_low: dict[str, TraceSummary],
              idx, advance) -> None:
    """Fold one file's summary into `by_low`: from the index where it keeps one, else read."""
    import orjson

    cov = idx.coverage(path) if idx is not None and path != "-" else None
    stored = idx.summary(cov) if cov is not None else None
    if stored is not None:
        kept = orjson.loads(stored)
        file_rows = kept["rows"]
        for place in kept["broken"]:
            broken.add(*place)
        advance(path, None)
    else:
        file_broken = Broken(keep=1 << 30)
        file_rows = _read_file(path, file_broken, zone, advance)
        broken.merge(file_broken)
        if cov is not None and cov.state == "fresh":
            import contextlib
            import sqlite3

            with contextlib.suppress(sqlite3.Error):  # a read-only index: just not kept
                places = [p.rsplit(":", 1) for p in file_broken.places]
                idx.keep_summary(cov, orjson.dumps({
                    "rows": file_rows, "broken": [(f, int(n)) for f, n in places]}))
    for low, (trace_id, lines, services, errors, first, last) in file_rows.items():
        row = by_low.get(low)
        if row is None:
            row = by_low[low] = TraceSummary(trace_id)
        elif len(trace_id) > len(row.trace_id):
            row.trace_id = trace_id
        row.lines += lines
        row.services.update(services)
        row.errors += errors
        if first is not None:
            row.first_us = first if row.first_us is None else min(row.first_us, first)
            row.last_us = last if row.last_us is None else max(row.last_us, last)


def _read_file(path: str, broken: Broken, zone: tzinfo, advance) -> dict[str, list]:
    """One file's rows: low 16 hex → [trace id, lines, services, errors, first, last]."""
    rows: dict[str, list] = {}
    for rec in read_records(path, broken, zone):
        advance(path, rec.offset)
        if rec.trace_id is None:
            continue
        low = rec.trace_id[-16:]
        row = rows.get(low)
        if row is None:
            row = rows[low] = [rec.trace_id, 0, [], 0, None, None]
        elif len(rec.trace_id) > len(row[0]):
            row[0] = rec.trace_id
        row[1] += 1
        if rec.service not in row[2]:
            row[2].append(rec.service)
        row[3] += rec.error
        if rec.ts_us is not None:
            row[4] = rec.ts_us if row[4] is None else min(row[4], rec.ts_us)
            row[5] = rec.ts_us if row[5] is None else max(row[5], rec.ts_us)
    advance(path, None)
    return rows


def _byte_progress(files: list[str], show: bool):
    """A context giving `advance(path, offset)`: a rich bar of bytes read on stderr (`offset`
    None: the file is done), or a no-op."""
    import contextlib

    if not show:
        return contextlib.nullcontext(lambda path, offset: None)

    @contextlib.contextmanager
    def bar():
        import os

        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        sizes = {}
        for f in files:
            try:
                sizes[f] = os.path.getsize(f) if f != "-" else 0
            except OSError:
                sizes[f] = 0
        done: dict[str, int] = {}
        with Progress(TextColumn("reading"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                      console=_stderr()) as progress:
            task = progress.add_task("reading", total=sum(sizes.values()))

            def advance(path: str, offset: int | None) -> None:
                # plain files by the offset read; a .gz one (offsets in its text) when done
                size = sizes.get(path, 0)
                at = size if offset is None else min(offset, size)
                if offset is not None and (at - done.get(path, 0) < 1 << 20
                                           or path.endswith(".gz")):
                    return
                progress.advance(task, at - done.get(path, 0))
                done[path] = at

            yield advance

    return bar()


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
