"""`grep`: every line of one trace from every file, through the index where it is fresh."""

from __future__ import annotations

from datetime import UTC, tzinfo

from logcorr.formats import FileFormat
from logcorr.ids import parse_query, same_trace
from logcorr.paths import existing_index, expand_paths
from logcorr.readers import Broken, service_of
from logcorr.record import Record
from logcorr.ripgrep import HeadStart
from logcorr.scan import TraceScan, describe
from logcorr.timeline import Timeline, merge, select


class GrepResult:
    """The merged timeline, the broken lines met, the files read and those the index answered
    (partly), warnings for the user, the paths that could not be read, the trace's canonical
    32-hex id, and the files whose matches no trace-id field explained (found in raw text)."""

    def __init__(self, timeline: Timeline, broken: Broken, files: list[str], indexed: list[str],
                 warnings: list[str], failed: list[str] | None = None, trace_id: str = "",
                 raw_only: list[str] | None = None) -> None:
        self.timeline, self.broken, self.files = timeline, broken, files
        self.indexed, self.warnings = indexed, warnings
        self.failed = [] if failed is None else failed
        self.trace_id = trace_id
        self.raw_only = [] if raw_only is None else raw_only


def parse_trace_id(text: str) -> str:
    """A trace id from the command line, in any of its forms (`ids.parse_query`)."""
    return parse_query(text)


def grep(
    trace_id: str,
    paths: list[str] | None = None,
    *,
    span: str | None = None,
    levels: tuple[str, ...] = (),
    zone: tzinfo = UTC,
    shifts: dict[str, int] | None = None,
    use_index: bool = True,
    index_path: str | None = None,
    running: HeadStart | None = None,
) -> GrepResult:
    """The merged timeline of one trace across `paths` (default `var/log/`). A path that is
    missing or unreadable is named in `warnings` and `failed`; the others are still read.
    `running`: the launcher's ripgrep search (and its expansion of `paths`), used when it
    searches the files to scan."""
    tid = parse_trace_id(trace_id)
    errors: list[str] = []
    files = running.files_of(paths) if running is not None else None
    if files is None:
        files = expand_paths(paths, errors)
    scan = TraceScan(tid, zone)
    scan.warnings.extend(errors)
    scan.failed.extend(e.rsplit(":", 1)[0] for e in errors)
    records: list[Record] = []
    indexed: list[str] = []
    to_scan = files
    if use_index and files:
        to_scan, indexed = _from_index(scan, files, index_path, records)
    if to_scan:
        records.extend(scan.files(to_scan, running))
    place_untimed(records)
    raw_only = _raw_only(records)
    canonical = max((r.trace_id for r in records if same_trace(r.trace_id, tid)),
                    key=len, default=tid).zfill(32)
    for rec in records:
        rec.trace_id = canonical
    timeline = merge(select(records, span=span, levels=levels), shifts)
    return GrepResult(timeline, scan.broken, files, indexed, scan.warnings, scan.failed,
                      canonical, raw_only)


def _raw_only(records: list[Record]) -> list[str]:
    """Files none of whose matched lines had a trace id in a field a format knows."""
    by_file: dict[str, bool] = {}
    for r in records:
        by_file[r.file] = by_file.get(r.file, False) or bool(r.parsed and r.trace_id)
    return sorted(f for f, field in by_file.items() if not field)


def place_untimed(records: list[Record]) -> None:
    """A record without a time sorts with its file's neighbours: at the time of the nearest
    earlier record of the same file (or the next one, when none is earlier)."""
    by_file: dict[str, list[Record]] = {}
    for r in records:
        by_file.setdefault(r.file, []).append(r)
    for found in by_file.values():
        found.sort(key=lambda r: r.line)
        last = None
        for r in found:
            if r.ts_us is not None:
                last = r.ts_us
            r.sort_us = r.ts_us if r.ts_us is not None else last
        nxt = None
        for r in reversed(found):
            if r.ts_us is not None:
                nxt = r.ts_us
            elif r.sort_us is None:
                r.sort_us = nxt


def _from_index(
    scan: TraceScan, files: list[str], index_path: str | None, records: list[Record],
) -> tuple[list[str], list[str]]:
    """Read what the index covers into `records`; return (files to scan whole, files indexed)."""
    path = existing_index(files, index_path)
    if path is None:
        return files, []
    from logcorr.index import Index

    idx = Index.open_existing(path)
    if idx is None:
        return files, []
    covered = {}
    try:
        for f in files:
            if f == "-":
                continue
            try:
                covered[f] = idx.coverage(f)
            except OSError as exc:  # unreadable now: the scan names it
                scan.warnings.append(describe(f, exc))
                scan.failed.append(f)
        by_id = {c.file_id: f for f, c in covered.items() if c.file_id is not None}
        places = idx.places(scan.trace_id, by_id)
    finally:
        idx.close()
    for path, cov in covered.items():
        fmt = cov.format and FileFormat.loads(cov.format, service_of(path), scan.zone)
        if fmt:
            scan.know(path, fmt)
    for path, found in places.items():
        records.extend(scan.at(path, ((line, off, None) for line, off in found),
                               covered[path].gz_points))
    for path in by_id.values():
        cov = covered[path]
        if cov.state == "appended":
            records.extend(scan.stream(path, cov.indexed_bytes, cov.lines + 1))
    done = set(by_id.values()) | set(scan.failed)
    return [f for f in files if f not in done], list(by_id.values())
