"""Finding one trace's lines fast: ripgrep over plain files, a streaming Python scan for
`.gz`, stdin and appended tails. A line is the trace's when its bytes hold the id in one of
its forms (`ids.FormMatcher`): it is then parsed for its time and fields, and shown raw,
flagged unparsed, when no format reads it. Recall is ripgrep's by construction."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo

from logcorr import ripgrep
from logcorr.formats import BROKEN, CONTINUATION, FileFormat, Record, detect_format, parse_line
from logcorr.ids import FormMatcher, rg_literals, same_trace
from logcorr.paths import is_plain
from logcorr.readers import Broken, open_binary, sniff
from logcorr.record import unparsed
from logcorr.ripgrep import HeadStart

_STEP = 2048
_MAX_CONTINUATION = 500


def describe(path: str, exc: BaseException) -> str:
    """One warning line for a path that could not be read, as ripgrep words it."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{path}: {reason}"


class TraceScan:
    """The records of one trace in a set of files, with broken lines and unreadable paths
    counted (a path that fails is named in `warnings` and in `failed`; the others go on)."""

    def __init__(self, trace_id: str, zone: tzinfo = UTC) -> None:
        self.trace_id = trace_id
        self.zone = zone
        self.matcher = FormMatcher(trace_id)
        self.literals = rg_literals(trace_id)
        self.broken = Broken()
        self.warnings: list[str] = []
        self.failed: list[str] = []
        self._formats: dict[str, FileFormat] = {}

    def fmt(self, path: str) -> FileFormat:
        if path not in self._formats:
            self._formats[path] = sniff(path, self.zone)
        return self._formats[path]

    def know(self, path: str, fmt: FileFormat) -> None:
        """Take the file's format from elsewhere (the index) instead of sniffing its head."""
        self._formats[path] = fmt

    def fail(self, path: str, exc: BaseException) -> None:
        self.failed.append(path)
        self.warnings.append(describe(path, exc))

    def keep(self, raw: bytes, fmt: FileFormat, path: str, line: int, offset: int
             ) -> list[Record]:
        """The records of a line when its bytes hold the trace id: parsed, else raw."""
        form = self.matcher.form(raw)
        if form is None:
            return []
        found = parse_line(raw, fmt, path, line, offset)
        if isinstance(found, list):
            records = [r for r in found if same_trace(r.trace_id, self.trace_id)] or found[:1]
        elif isinstance(found, Record):
            records = [found]
        else:
            if found is BROKEN:
                self.broken.add(path, line)
            text = raw.rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
            records = [unparsed(text, fmt.service, path, line, offset)]
        for rec in records:
            rec.matched_form = form
        return records

    # --- whole files ---------------------------------------------------------------------

    def files(self, paths: list[str], running: HeadStart | None = None) -> list[Record]:
        """Scan whole files: ripgrep for plain ones (when installed; `running`, when the
        launcher already started it on the same files), Python for the rest."""
        rg = ripgrep.binary()
        plain, other = [], []
        for p in paths:
            try:
                (plain if rg and is_plain(p) else other).append(p)
            except (OSError, UnicodeError) as exc:
                self.fail(p, exc)
        # ripgrep searches while the files' formats are sniffed (20 ms of regex compiling)
        proc = running.take(self.trace_id, plain) if running is not None else None
        if proc is None and plain:
            proc = ripgrep.search(rg, self.literals, plain)
        for p in plain + other:
            if p == "-":
                continue
            try:
                self.fmt(p)
            except (OSError, UnicodeError) as exc:
                self.fail(p, exc)
        records: list[Record] = []
        if proc is not None:
            records.extend(self._ripgrep_hits(proc))
        for path in other:
            if path in self.failed:
                continue
            try:
                records.extend(self.stream(path))
            except (OSError, EOFError, UnicodeError) as exc:  # EOFError: a cut .gz
                self.fail(path, exc)
        return records

    def _ripgrep_hits(self, proc: ripgrep.Spawned) -> list[Record]:
        """The records of ripgrep's hits, each file's parsed as soon as its block has come
        (ripgrep writes a file's matches together) while it still searches the others."""
        records: list[Record] = []
        path, found = None, []
        with proc:
            for out in proc.stdout:
                name, _, rest = out.partition(b"\0")
                line_no, _, rest = rest.partition(b":")
                offset, _, raw = rest.partition(b":")
                name = os.fsdecode(name)
                if name != path:
                    if found and path not in self.failed:
                        records.extend(self.at(path, found))
                    path, found = name, []
                found.append((int(line_no), int(offset), raw.rstrip(b"\n")))
            if found and path not in self.failed:
                records.extend(self.at(path, found))
            err = proc.stderr.read().decode(errors="replace").strip()
        if proc.returncode not in (0, 1):
            self.warnings.append(f"ripgrep: {err or 'exit ' + str(proc.returncode)}")
        return records

    # --- known places (ripgrep hits, index postings) ------------------------------------------

    def at(self, path: str, found: Iterable[tuple[int, int, bytes | None]],
           gz_points: bytes | None = None) -> list[Record]:
        """Parse and check lines at known (line, offset[, bytes]) places of a file (a `.gz`
        one through its seek points)."""
        from logcorr.gzindex import GzReader, PlainReader

        try:
            fmt = self.fmt(path)
            reader = GzReader(path, gz_points) if gz_points is not None else PlainReader(path)
        except (OSError, ValueError) as exc:
            self.fail(path, exc)
            return []
        records: list[Record] = []
        consumed = 0  # the last line already read (as a record or a continuation)
        try:
            pread = reader.pread
            for line_no, offset, raw in found:
                if line_no <= consumed:
                    continue
                if raw is None:  # an index posting: the offset is in the line
                    offset = _line_start(pread, offset)
                    raw = _line_at(pread, offset)
                consumed = line_no
                kept = self.keep(raw, fmt, path, line_no, offset)
                if kept and kept[-1].parsed:
                    kept[-1].extra = _continuations(pread, offset + len(raw) + 1, fmt, path)
                    consumed = line_no + len(kept[-1].extra)
                records.extend(kept)
        finally:
            reader.close()
        return records

    # --- streams --------------------------------------------------------------------------

    def stream(self, path: str, start: int = 0, first_line: int = 1) -> Iterator[Record]:
        """Stream a file (gz, stdin, or a plain file's tail from `start`), keeping the matches."""
        lits = [lit.encode() for lit in self.literals]
        stream = open_binary(path, start)
        try:
            fmt = self.fmt(path) if path != "-" else None
            current: Record | None = None
            offset = start
            for n, raw in enumerate(stream, first_line):
                end = offset + len(raw)
                raw = raw.rstrip(b"\r\n")
                if fmt is None:  # stdin: sniff its first line
                    fmt = detect_format([raw], "stdin", self.zone)
                if current is not None and parse_line(raw, fmt, path, n, offset) is CONTINUATION:
                    current.extra.append(raw.decode("utf-8", "replace"))
                elif any(lit in raw.lower() for lit in lits) and (
                        kept := self.keep(raw, fmt, path, n, offset)):
                    if current is not None:
                        yield current
                    yield from kept[:-1]
                    current = kept[-1] if kept[-1].parsed else None
                    if current is None:
                        yield kept[-1]
                elif current is not None:
                    yield current
                    current = None
                offset = end
            if current is not None:
                yield current
        finally:
            if path != "-":
                stream.close()


def _line_at(pread, offset: int) -> bytes:
    """The line starting at `offset` (read in small steps: lines are short, files are big)."""
    size = _STEP
    while True:
        chunk = pread(size, offset)
        end = chunk.find(b"\n")
        if end >= 0:
            return chunk[:end]
        if len(chunk) < size:
            return chunk
        size *= 4


def _line_start(pread, offset: int) -> int:
    """The offset of the start of the line holding byte `offset`."""
    end = offset
    while end > 0:
        size = min(end, _STEP)
        chunk = pread(size, end - size)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return end - size + cut + 1
        end -= size
    return 0


def _continuations(pread, offset: int, fmt: FileFormat, path: str) -> list[str]:
    """The traceback lines right after a record (lines that do not start a record)."""
    out: list[str] = []
    while len(out) < _MAX_CONTINUATION:
        raw = _line_at(pread, offset)
        # (a JSON line never continues a record: no need to parse it to know)
        if not raw or raw[:1] == b"{" or parse_line(raw, fmt, path, 0) is not CONTINUATION:
            break
        out.append(raw.rstrip(b"\r").decode("utf-8", "replace"))
        offset += len(raw) + 1
    return out

