"""An on-disk index (SQLite): trace id → file, line and byte offset. Every id-like token of a
line is posted by its low 64 bits (`ids.token_keys`: hex runs, UUIDs, X-Ray roots, Datadog
decimals) without parsing the line, so the index holds every line grep's scan would find
whatever its format. Appended files are indexed incrementally; grep reads the postings of
fresh files, checks each line, and scans only what the index lacks."""

from __future__ import annotations

import os
import sqlite3
from array import array
from collections.abc import Callable
from datetime import UTC, tzinfo

from logcorr.ids import index_key, token_keys
from logcorr.paths import is_plain
from logcorr.readers import SAMPLE_BYTES, Broken, sniff

CHUNK = 4 << 20  # bytes read at a time: bounds memory, not speed
HEAD = 1024
SCHEMA_VERSION = "2"  # 2: postings of every id token (1: of the parsed trace id only)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER, mtime_ns INTEGER,
  head BLOB, indexed_bytes INTEGER, lines INTEGER, broken INTEGER, format TEXT, sampled INTEGER,
  gz_points BLOB);
CREATE TABLE IF NOT EXISTS postings(trace INTEGER NOT NULL, file INTEGER NOT NULL, places BLOB);
CREATE TABLE IF NOT EXISTS summaries(file INTEGER NOT NULL, upto INTEGER, rows BLOB);
"""


class Coverage:
    """How much of a file the index holds: all of it, its head (appended since), or nothing."""

    def __init__(self, path: str, file_id: int | None, indexed_bytes: int = 0, lines: int = 0,
                 format: str | None = None, gz_points: bytes | None = None) -> None:
        self.path = path
        self.file_id = file_id
        self.indexed_bytes = indexed_bytes
        self.lines = lines
        self.format = format  # the file's sniffed format, while its sampled head is unchanged
        self.gz_points = gz_points  # a `.gz` file's seek points (it is fresh or missing)

    @property
    def state(self) -> str:
        if self.file_id is None:
            return "missing"
        if self.gz_points is not None:
            return "fresh"
        return "fresh" if self.indexed_bytes >= os.path.getsize(self.path) else "appended"


class BuildStats:
    """What an index build read and wrote."""

    def __init__(self) -> None:
        self.files = self.bytes = self.lines = self.postings = self.skipped = 0


class Index:
    """The index file. Paths inside it are absolute."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.executescript(_SCHEMA)
        version = self.db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        if version is not None and version[0] != SCHEMA_VERSION:  # older postings: rebuild
            self.db.executescript("DROP TABLE postings; DROP TABLE files; DELETE FROM meta;"
                                  + _SCHEMA)
            version = None
        if version is None:
            self.db.execute("INSERT INTO meta VALUES('version', ?)", (SCHEMA_VERSION,))
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        for column in ("format TEXT", "sampled INTEGER", "gz_points BLOB"):  # added later
            if column.split()[0] not in columns:
                self.db.execute(f"ALTER TABLE files ADD COLUMN {column}")
        self.db.commit()

    @classmethod
    def open_existing(cls, path: str) -> Index | None:
        """The index at `path` for reading, or None when there is none (or one of an older
        version, which `logcorr index` rebuilds)."""
        if not os.path.isfile(path):
            return None
        idx = cls.__new__(cls)
        idx.path = path
        idx.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = idx.db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        except sqlite3.Error:
            version = None
        if version is None or version[0] != SCHEMA_VERSION:
            idx.close()
            return None
        return idx

    def close(self) -> None:
        self.db.close()

    # --- freshness -----------------------------------------------------------------------

    def coverage(self, path: str) -> Coverage:
        """What the index holds of `path`; nothing when the file was replaced or truncated."""
        cur = self.db.execute("SELECT * FROM files WHERE path=?", (os.path.abspath(path),))
        row = cur.fetchone()
        if row is None or path == "-":
            return Coverage(path, None)
        known = dict(zip((c[0] for c in cur.description), row, strict=True))
        st = os.stat(path)
        if known.get("gz_points") is not None:  # a .gz file: the same bytes, or nothing
            if (st.st_size, st.st_mtime_ns) != (known["size"], known["mtime_ns"]):
                return Coverage(path, None)
            return Coverage(path, known["id"], known["indexed_bytes"], known["lines"],
                            known.get("format"), known["gz_points"])
        if not is_plain(path):
            return Coverage(path, None)
        with open(path, "rb") as f:
            same_head = f.read(len(known["head"])) == known["head"]
        size_then = known["size"] or 0
        rewritten = st.st_size == size_then and st.st_mtime_ns != known["mtime_ns"]
        if st.st_size < size_then or not same_head or rewritten:
            return Coverage(path, None)
        # A sniff now would read the same head (an index from before `format` has none)
        fmt = known.get("format") if known.get("sampled") == min(st.st_size, SAMPLE_BYTES) else None
        return Coverage(path, known["id"], known["indexed_bytes"], known["lines"], fmt)

    # --- lookup --------------------------------------------------------------------------

    def places(self, trace_id: str, file_ids: dict[int, str]) -> dict[str, list[tuple[int, int]]]:
        """(line, offset) places of a trace's candidate lines, by file path."""
        out: dict[str, list[tuple[int, int]]] = {}
        rows = self.db.execute(
            "SELECT file, places FROM postings WHERE trace=?", (index_key(trace_id),)
        )
        for file_id, blob in rows:
            path = file_ids.get(file_id)
            if path is None:
                continue
            flat = array("q")
            flat.frombytes(blob)
            out.setdefault(path, []).extend(zip(flat[0::2], flat[1::2], strict=True))
        for found in out.values():
            found.sort()
        return out

    # --- build ---------------------------------------------------------------------------

    def update(
        self, paths: list[str], zone: tzinfo = UTC,
        progress: Callable[[int], None] | None = None, warnings: list[str] | None = None,
    ) -> tuple[BuildStats, Broken]:
        """Index what is new: whole new or replaced files, the appended tail of the others.
        A file that cannot be read is named in `warnings` and skipped (raised without)."""
        stats, broken = BuildStats(), Broken()
        self.db.execute("PRAGMA synchronous=OFF")  # a crash mid-build costs a rebuild, no more
        self.db.execute("DROP INDEX IF EXISTS postings_trace")
        for path in paths:
            try:
                if path == "-":
                    stats.skipped += 1
                    continue
                cov = self.coverage(path)
                if cov.file_id is None:
                    self._forget(path)
                    cov = Coverage(path, self._add(path), 0, 0)
                elif cov.state == "fresh":
                    continue
                if is_plain(path):
                    self._index_file(cov, zone, stats, broken, progress)
                elif _has_indexed_gzip():
                    self._index_gz(cov, zone, stats, progress)
                else:
                    stats.skipped += 1
                    continue
            except OSError as exc:
                if warnings is None:
                    raise
                warnings.append(f"{path}: {exc.strerror or exc}")
                continue
            stats.files += 1
        self.db.execute("CREATE INDEX IF NOT EXISTS postings_trace ON postings(trace)")
        self.db.commit()
        return stats, broken

    # --- `traces` summaries ----------------------------------------------------------------

    def summary(self, cov: Coverage) -> bytes | None:
        """A fresh file's stored `traces` summary (JSON), if one was kept for what is indexed."""
        if cov.file_id is None or cov.state != "fresh":
            return None
        row = self.db.execute("SELECT rows FROM summaries WHERE file=? AND upto=?",
                              (cov.file_id, cov.indexed_bytes)).fetchone()
        return None if row is None else row[0]

    def keep_summary(self, cov: Coverage, rows: bytes) -> None:
        """Keep a fresh file's `traces` summary for the next run."""
        self.db.execute("DELETE FROM summaries WHERE file=?", (cov.file_id,))
        self.db.execute("INSERT INTO summaries VALUES(?, ?, ?)",
                        (cov.file_id, cov.indexed_bytes, rows))
        self.db.commit()

    def _forget(self, path: str) -> None:
        full = os.path.abspath(path)
        self.db.execute(
            "DELETE FROM summaries WHERE file IN (SELECT id FROM files WHERE path=?)", (full,)
        )
        self.db.execute(
            "DELETE FROM postings WHERE file IN (SELECT id FROM files WHERE path=?)", (full,)
        )
        self.db.execute("DELETE FROM files WHERE path=?", (full,))

    def _add(self, path: str) -> int:
        with open(path, "rb") as f:
            head = f.read(HEAD)
        cur = self.db.execute(
            "INSERT INTO files(path, head, indexed_bytes, lines, broken) VALUES(?, ?, 0, 0, 0)",
            (os.path.abspath(path), head),
        )
        return int(cur.lastrowid or 0)

    def _index_file(
        self, cov: Coverage, zone: tzinfo, stats: BuildStats, broken: Broken,
        progress: Callable[[int], None] | None,
    ) -> None:
        sampled = min(os.path.getsize(cov.path), SAMPLE_BYTES)
        sniffed = sniff(cov.path, zone).dumps()
        start = cov.indexed_bytes
        end, lines = _whole_lines(cov.path, start)  # a line being written waits for next time

        def flush(posts: dict[int, array]) -> None:
            self.db.executemany("INSERT INTO postings VALUES(?, ?, ?)",
                                ((t, cov.file_id, a.tobytes()) for t, a in posts.items()))
            stats.postings += len(posts)

        from logcorr.ripgrep import binary

        rg = binary()
        if rg and end > start:
            _rg_postings(rg, cov.path, start, end, cov.lines, flush, progress)
        elif end > start:
            _python_postings(cov.path, start, end, cov.lines, flush, progress)
        stats.bytes += end - start
        stats.lines += lines
        st = os.stat(cov.path)
        self.db.execute(
            "UPDATE files SET size=?, mtime_ns=?, indexed_bytes=?, lines=?, format=?, sampled=? "
            "WHERE id=?",
            (st.st_size, st.st_mtime_ns, end, cov.lines + lines, sniffed, sampled, cov.file_id),
        )


    def _index_gz(self, cov: Coverage, zone: tzinfo, stats: BuildStats,
                  progress: Callable[[int], None] | None) -> None:
        """Post a `.gz` file's tokens (offsets in its text) and keep its seek points."""
        from logcorr.gzindex import export, open_gz
        from logcorr.ripgrep import binary

        sniffed = sniff(cov.path, zone).dumps()
        size = os.path.getsize(cov.path)

        def flush(posts: dict[int, array]) -> None:
            self.db.executemany("INSERT INTO postings VALUES(?, ?, ?)",
                                ((t, cov.file_id, a.tobytes()) for t, a in posts.items()))
            stats.postings += len(posts)

        f = open_gz(cov.path)
        try:
            counted = _Counted(f)
            rg = binary()
            if rg:
                _rg_postings(rg, None, 0, None, 0, flush, None, source=counted)
            else:
                _python_postings(None, 0, None, 0, flush, None, source=counted)
            points = export(f)
        finally:
            f.close()
        if progress:
            progress(size)
        stats.bytes += counted.bytes
        stats.lines += counted.lines
        st = os.stat(cov.path)
        self.db.execute(
            "UPDATE files SET size=?, mtime_ns=?, indexed_bytes=?, lines=?, format=?, sampled=?, "
            "gz_points=? WHERE id=?",
            (st.st_size, st.st_mtime_ns, counted.bytes, counted.lines, sniffed, -1, points,
             cov.file_id),
        )


def _has_indexed_gzip() -> bool:
    import importlib.util

    return importlib.util.find_spec("indexed_gzip") is not None


class _Counted:
    """A stream read to its end, counting its bytes and lines on the way."""

    def __init__(self, f) -> None:
        self.f, self.bytes, self.lines = f, 0, 0

    def read(self, size: int) -> bytes:
        chunk = self.f.read(size)
        self.bytes += len(chunk)
        self.lines += chunk.count(b"\n")
        return chunk


def _whole_lines(path: str, start: int) -> tuple[int, int]:
    """(the offset after the file's last newline, the newlines from `start` to there)."""
    lines = 0
    end = start
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                end = offset + cut + 1
            offset += len(chunk)
    return end, lines


# What ripgrep reports (-o): span and parent ids after their key, eaten so that they are not
# posted (a trace id is never looked up by them); UUIDs; hex runs of 16+ digits; decimals
# after a `trace_id` key, with the byte that ends them (ripgrep's regex has no look-around).
# A 32-hex id followed by `-<16 hex>` (Micrometer `[trace-span]`, traceparent, B3) is one
# token: its span is not posted either.
_RG_TOKENS = (r"[sS]pan_?[iI][dD]\W{1,4}[0-9a-fA-F]{16}|[pP]arent_?[iI][dD]\W{1,4}[0-9a-fA-F]{16}"
              r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
              r"|[0-9a-fA-F]{32}-[0-9a-fA-F]{16}"
              r"|[0-9a-fA-F]{16,}|[tT]race_?[iI][dD]\W{1,4}[0-9]{1,20}[^0-9a-zA-Z]")
_SHIFT = 1 << 63
_KEYED = b"sSpPtT"  # the first byte of a token that is a key and its value
FLUSH = 200_000  # postings kept in memory before they are written


def _rg_postings(rg: str, path: str | None, start: int, end: int | None, first_line: int,
                 flush, progress: Callable[[int], None] | None, source=None) -> None:
    """Post the id tokens of bytes [start, end) of a file, found by ripgrep (`-o`): each
    posting is (line, offset of the token); grep finds the token's line from there. A
    `source` stream (a `.gz` file's text) is read whole instead."""
    import subprocess

    if source is not None:
        _rg_stream(rg, source, flush)
        return
    assert path is not None and end is not None

    cmd = [rg, "--no-config", "-o", "-n", "-b", "-a", "--no-filename", "--no-heading",
           "--color=never", "--no-unicode", "-e", _RG_TOKENS, "-"]
    posts: dict[int, array] = {}
    last: dict[int, int] = {}
    kept = 0
    reported = start
    with open(path, "rb") as f:
        f.seek(start)
        with subprocess.Popen(cmd, stdin=subprocess.PIPE if end < os.path.getsize(path)
                              else f, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            if proc.stdin is not None:  # only whole lines: feed them
                _feed(proc.stdin, f, end - start)
            for line, at, key in _rg_keys(proc.stdout):
                line += first_line
                if last.get(key) == line:
                    continue
                last[key] = line
                at += start
                if at >= end:
                    break
                found = posts.get(key)
                if found is None:
                    found = posts[key] = array("q")
                found.extend((line, at))
                kept += 1
                if kept >= FLUSH:
                    flush(posts)
                    posts, last, kept = {}, {}, 0
                    if progress:
                        progress(at - reported)
                    reported = at
    flush(posts)
    if progress:
        progress(end - reported)


def _rg_stream(rg: str, source, flush) -> None:
    import subprocess

    cmd = [rg, "--no-config", "-o", "-n", "-b", "-a", "--no-filename", "--no-heading",
           "--color=never", "--no-unicode", "-e", _RG_TOKENS, "-"]
    posts: dict[int, array] = {}
    last: dict[int, int] = {}
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        _feed(proc.stdin, source, 1 << 62)
        for line, at, key in _rg_keys(proc.stdout):
            if last.get(key) == line:
                continue
            last[key] = line
            found = posts.get(key)
            if found is None:
                found = posts[key] = array("q")
            found.extend((line, at))
            if len(last) >= FLUSH:
                flush(posts)
                posts, last = {}, {}
    flush(posts)


def _rg_keys(stdout):
    """(line, offset, key) of each token in ripgrep's `-o -n -b` output, read in big chunks."""
    pending = b""
    token_key = _token_key
    while chunk := stdout.read(1 << 22):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for out in lines:
            line_no, offset, token = out.split(b":", 2)
            if len(token) == 32 and token[:1] not in _KEYED:  # the common case, inline
                key = int(token[16:], 16) - _SHIFT
                if key == -_SHIFT:
                    continue
            else:
                key = token_key(token)
                if key is None:
                    continue
            yield int(line_no), int(offset), key


def _feed(pipe, f, size: int) -> None:
    import threading

    def run() -> None:
        left = size
        try:
            while left > 0 and (chunk := f.read(min(CHUNK, left))):
                pipe.write(chunk)
                left -= len(chunk)
        finally:
            pipe.close()

    threading.Thread(target=run, daemon=True).start()


def _token_key(token: bytes) -> int | None:
    """The index key of one token ripgrep reported; None for one that is not posted."""
    first = token[:1]
    if first in (b"s", b"S", b"p", b"P"):
        return None
    if first in (b"t", b"T"):
        digits = token[:-1]
        i = len(digits)
        while i and digits[i - 1:i].isdigit():
            i -= 1
        value = int(digits[i:])
        return value - (1 << 63) if 0 < value < 1 << 64 else None
    if len(token) == 36 and token[8:9] == b"-":
        value = int(token[19:23] + token[24:], 16)
    elif len(token) == 49 and token[32:33] == b"-":  # trace-span: the trace
        value = int(token[16:32], 16)
    elif 17 <= len(token) <= 20 and token.isdigit() and int(token) < 1 << 64:
        value = int(token)  # a Datadog decimal id (no 16/24/32-hex id is this long)
    elif len(token) <= 32:
        value = int(token[-16:], 16)
    else:
        return None
    return value - (1 << 63) if value else None


def _python_postings(path: str | None, start: int, end: int | None, first_line: int, flush,
                     progress: Callable[[int], None] | None, source=None) -> None:
    """The same postings without ripgrep (Python's regex: slower)."""
    import contextlib

    offset, line_no = start, first_line
    end = (1 << 62) if end is None else end
    if source is not None:
        opened = contextlib.nullcontext(source)
    else:
        opened = open(path, "rb")  # type: ignore[arg-type]  # noqa: SIM115 - closed by `with`
        opened.seek(start)
    with opened as f:
        pending = b""
        while offset < end and (chunk := f.read(min(CHUNK, end - offset - len(pending)))):
            data = pending + chunk
            cut = data.rfind(b"\n") + 1
            data, pending = data[:cut], data[cut:]
            posts: dict[int, array] = {}
            line_no = postings(data, offset, line_no, posts)
            offset += len(data)
            flush(posts)
            if progress:
                progress(len(data))


def postings(data: bytes, offset: int, line_no: int, posts: dict[int, array]) -> int:
    """Add the (line, offset) places of every id token of a chunk of whole lines to `posts`
    by index key (once per line and key). Returns the number of the chunk's last line."""
    line_start = 0
    line_end = -1  # the first token moves to its line
    last: dict[int, int] = {}  # key → the line it was last posted for
    count, rfind, find = data.count, data.rfind, data.find
    first = line_no
    for pos, key in token_keys(data):
        if pos > line_end:
            line_no = first + 1 + count(b"\n", 0, pos) if line_end < 0 \
                else line_no + count(b"\n", line_end, pos)
            line_start = rfind(b"\n", 0, pos) + 1
            line_end = find(b"\n", pos)
            if line_end < 0:
                line_end = len(data)
        if last.get(key) != line_no:
            last[key] = line_no
            found = posts.get(key)
            if found is None:
                found = posts[key] = array("q")
            found.extend((line_no, offset + line_start))
    return first + count(b"\n")
