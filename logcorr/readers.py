"""Where log records come from: files, folders, globs, `.gz` and stdin, read record by record
with continuation lines kept on their record and broken lines counted."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo

from logcorr import jsonline
from logcorr.formats import (
    BLANK,
    CONTINUATION,
    FileFormat,
    Record,
    detect_format,
    parse_line,
)
from logcorr.paths import STDIN

SAMPLE_BYTES = 16 * 1024  # enough lines to tell the format and the id fields
# `order.jsonl`, `order.jsonl.1` (rotated), `app.log.2026-11-25.gz`, `x.txt.gz`…
_LOG_NAME = re.compile(r"(.+?)\.(?:jsonl|ndjson|json|log|txt)(?:\.[\w-]+)*?(?:\.gz)?$|(.+)\.gz$")


class Broken:
    """Broken lines met while reading: a count and the first few places, reported at the end."""

    def __init__(self, keep: int = 5) -> None:
        self.count = 0
        self.places: list[str] = []
        self.keep = keep

    def add(self, file: str, line: int) -> None:
        self.count += 1
        if len(self.places) < self.keep:
            self.places.append(f"{file}:{line}")

    def merge(self, other: Broken) -> None:
        for place in other.places:
            if len(self.places) < self.keep:
                self.places.append(place)
        self.count += other.count

    def summary(self) -> str:
        more = ", …" if self.count > len(self.places) else ""
        return f"{self.count} broken line(s) skipped: {', '.join(self.places)}{more}"


def service_of(path: str) -> str:
    """The service a file's lines fall back to: its name without log suffixes."""
    if path == STDIN:
        return "stdin"
    name = os.path.basename(path)
    m = _LOG_NAME.match(name)
    return (m.group(1) or m.group(2)) if m else name


def open_binary(path: str, start: int = 0) -> io.BufferedIOBase:
    """A binary stream of the file's lines from byte `start` (of the uncompressed text),
    gunzipped when needed (through the file's seek points when an index keeps them), stdin
    for `-`."""
    if path == STDIN:
        return sys.stdin.buffer
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    if f.peek(2)[:2] == b"\x1f\x8b":
        f.close()
        import gzip

        g = gzip.open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
        if start:
            g.seek(start)
        return g  # type: ignore[return-value]
    if start:
        f.seek(start)
    return f


def sniff(path: str, zone: tzinfo = UTC) -> FileFormat:
    """The format of a file from its first lines (stdin is sniffed by `read_records`)."""
    with open_binary(path) as f:
        head = f.read(SAMPLE_BYTES)
    return detect_format(head.split(b"\n")[:-1] or [head], service_of(path), zone)


def read_records(path: str, broken: Broken, zone: tzinfo = UTC) -> Iterator[Record]:
    """Every record of a file in file order, tracebacks attached, broken lines counted.

    A record without a timestamp sorts where its predecessor does (`sort_us`).
    """
    stream = open_binary(path)
    try:
        head = stream.read(SAMPLE_BYTES)
        fmt = detect_format(head.split(b"\n")[:-1] or [head], service_of(path), zone)
        lines = _lines(head, stream)
        yield from records_from_lines(lines, fmt, path, broken)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _lines(head: bytes, stream: io.BufferedIOBase) -> Iterator[tuple[int, bytes]]:
    """(offset, line) pairs over an already-read head and the rest of the stream."""
    offset = 0
    pending = head
    while True:
        parts = pending.split(b"\n")
        for part in parts[:-1]:
            yield offset, part
            offset += len(part) + 1
        pending = parts[-1]
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        pending += chunk
    if pending:
        yield offset, pending


def records_from_lines(
    lines: Iterable[tuple[int, bytes]], fmt: FileFormat, file: str, broken: Broken,
    first_line: int = 1,
) -> Iterator[Record]:
    current: Record | None = None
    last_ts: int | None = None
    loads = jsonline.bulk_loads()
    for n, (offset, raw) in enumerate(lines, first_line):
        parsed = parse_line(raw, fmt, file, n, offset, loads)
        if isinstance(parsed, list):  # a batch line (OTLP): all but its last record are done
            if current is not None:
                yield current
            current = None
            for rec in parsed[:-1]:
                last_ts = rec.sort_us = rec.ts_us if rec.ts_us is not None else last_ts
                yield rec
            parsed = parsed[-1] if parsed else BLANK
        if isinstance(parsed, Record):
            if current is not None:
                yield current
            if parsed.ts_us is None:
                parsed.sort_us = last_ts
            else:
                last_ts = parsed.ts_us
            current = parsed
        elif parsed is CONTINUATION and current is not None:
            current.extra.append(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
        elif parsed is not BLANK:
            broken.add(file, n)
    if current is not None:
        yield current
