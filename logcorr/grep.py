"""`grep`: every record of one trace from every file, through the index where it is fresh."""

from __future__ import annotations

from datetime import UTC, tzinfo

from logcorr.formats import FileFormat, Record
from logcorr.ids import normalize_id
from logcorr.readers import Broken, expand_paths, service_of
from logcorr.scan import TraceScan
from logcorr.timeline import Timeline, merge, select


class GrepResult:
    """The merged timeline, the broken lines met, the files read and those the index answered
    (partly), and warnings for the user."""

    def __init__(self, timeline: Timeline, broken: Broken, files: list[str], indexed: list[str],
                 warnings: list[str]) -> None:
        self.timeline, self.broken, self.files = timeline, broken, files
        self.indexed, self.warnings = indexed, warnings


def parse_trace_id(text: str) -> str:
    """A trace id from the command line (16 or 32 hex, any case); ValueError otherwise."""
    tid = normalize_id(text)
    if tid is None:
        raise ValueError(f"not a trace id: {text!r} (expected 16 or 32 hex digits, not all zero)")
    return tid


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
) -> GrepResult:
    """The merged timeline of one trace across `paths` (default `var/log/`)."""
    tid = parse_trace_id(trace_id)
    files = expand_paths(paths)
    scan = TraceScan(tid, zone)
    records: list[Record] = []
    indexed: list[str] = []
    to_scan = files
    if use_index:
        to_scan, indexed = _from_index(scan, files, index_path, records)
    if to_scan:
        records.extend(scan.files(to_scan))
    timeline = merge(select(records, span=span, levels=levels), shifts)
    return GrepResult(timeline, scan.broken, files, indexed, scan.warnings)


def _from_index(
    scan: TraceScan, files: list[str], index_path: str | None, records: list[Record],
) -> tuple[list[str], list[str]]:
    """Read what the index covers into `records`; return (files to scan whole, files indexed)."""
    from logcorr.index import Index, default_index_path

    idx = Index.open_existing(index_path or default_index_path(files))
    if idx is None:
        return files, []
    try:
        covered = {f: idx.coverage(f) for f in files if f != "-"}
        by_id = {c.file_id: f for f, c in covered.items() if c.file_id is not None}
        places = idx.places(scan.trace_id, by_id)
    finally:
        idx.close()
    for path, cov in covered.items():
        fmt = cov.format and FileFormat.loads(cov.format, service_of(path), scan.zone)
        if fmt:
            scan.know(path, fmt)
    for path, found in places.items():
        records.extend(scan.at(path, ((line, off, None) for line, off in found)))
    for path in by_id.values():
        cov = covered[path]
        if cov.state == "appended":
            records.extend(scan.stream(path, cov.indexed_bytes, cov.lines + 1))
    return [f for f in files if f not in by_id.values()], list(by_id.values())
