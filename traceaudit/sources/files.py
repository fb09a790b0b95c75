"""Trace files, their format found from their content: Zipkin v2 JSON (a list of traces, or of
spans), Jaeger JSON (the UI's download, the API envelope, a list of traces, one trace), OTLP JSON
(one `TracesData`/`ExportTraceServiceRequest` a line as the Collector's file exporter writes, or
one document); gzip-compressed or not.
"""

from __future__ import annotations

import gc
import gzip
import io
import mmap
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson
import pandas as pd

from traceaudit._jsonstream import JsonShapeError
from traceaudit.ids import normalize_trace_id
from traceaudit.sources._convert import (
    ConvertError,
    group_traces,
    jaeger_spans,
    jaeger_traces,
    otlp_spans,
)

FORMATS = ("zipkin", "jaeger", "otlp")
_WS = b" \t\r\n"
_OTLP_KEYS = ("resourceSpans", "batches", "trace", "result")
_OTHER_SIGNALS = ("resourceMetrics", "resourceLogs", "resourceProfiles")
_JAEGER_KEYS = ("data", "traceID", "spans", "processes", "warnings", "total", "errors")
_FIRST_KEY = re.compile(rb'\{\s*"([A-Za-z]+)"')


class FileFormatError(JsonShapeError):
    """The file is none of the trace formats read here."""


class _Counting(io.RawIOBase):
    """A raw file whose position survives a gzip layer above it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        return self.raw.readinto(buf)

    def close(self) -> None:
        self.raw.close()
        super().close()

    def position(self) -> int:
        return self.raw.tell()


def open_trace_file(path: str | Path) -> tuple[BinaryIO, Callable[[], int]]:
    """A binary stream of the file's (uncompressed) bytes, and a function giving how many of
    the file's own bytes were read so far."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the stream
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        counting = _Counting(raw)
        return gzip.GzipFile(fileobj=io.BufferedReader(counting), mode="rb"), counting.position
    return raw, raw.tell


def detect(head: bytes) -> str:
    """`zipkin`, `jaeger` or `otlp` from the first bytes of a (decompressed) file."""
    text = head.lstrip(_WS)
    if text[:1] == b"[":
        rest = text[1:].lstrip(_WS)
        if rest[:1] == b"{" and _looks_jaeger(rest):
            return "jaeger"
        return "zipkin"
    if text[:1] == b"{":
        first = _FIRST_KEY.match(text)
        key = first.group(1).decode() if first else ""
        if key in _OTLP_KEYS or key in _OTHER_SIGNALS:
            return "otlp"
        if key in _JAEGER_KEYS:
            return "jaeger"
        if b'"resourceSpans"' in text or b'"batches"' in text:
            return "otlp"
        if b'"spans"' in text:
            return "jaeger"
    raise FileFormatError("not a trace file: expected Zipkin JSON (a list), Jaeger JSON or "
                          "OTLP JSON (objects)")


def _looks_jaeger(text: bytes) -> bool:
    """A list of objects that are Jaeger traces (`traceID` + `spans`), not Zipkin spans."""
    first = text[:2048]
    return b'"spans"' in first and b'"traceID"' in first


def iter_file_traces(path: str | Path, fmt: str | None = None) -> Iterator[list[list[dict]]]:
    """Chunks of Zipkin v2 traces (lists of span dicts) from a trace file of any format."""
    stream, _ = open_trace_file(path)
    with stream:
        data = stream.read()
    fmt = fmt or detect(data[:8192])
    if fmt == "zipkin":
        yield _zipkin_traces(data)
    elif fmt == "jaeger":
        yield [jaeger_spans(t) for t in jaeger_traces(_load(data))]
    elif fmt == "otlp":
        yield group_traces(s for doc in _otlp_documents(data) for s in otlp_spans(doc))
    else:
        raise FileFormatError(f"unknown trace file format {fmt!r} (one of {', '.join(FORMATS)})")


def _zipkin_traces(data: bytes) -> list[list[dict]]:
    value = _load(data)
    if not isinstance(value, list):
        raise FileFormatError("expected a JSON list of traces")
    if value and not any(isinstance(s, list) for s in value):  # spans: maybe of many traces
        return _by_trace(value)
    return value


def _by_trace(spans: list) -> list[list]:
    """A list of spans cut into traces by normalised trace id (spans without a usable id stay
    with the first trace, where the spans frame counts them)."""
    groups: dict[str | None, list] = {}
    for span in spans:
        tid = normalize_trace_id(span.get("traceId")) if isinstance(span, dict) else None
        groups.setdefault(tid, []).append(span)
    if len(groups) <= 1:
        return [spans]
    odd = groups.pop(None, [])
    traces = list(groups.values())
    traces[0].extend(odd)
    return traces


def _load(data: bytes):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON ({exc})") from None


def _otlp_documents(data: bytes) -> Iterator[dict]:
    """OTLP documents: one, or one a line (JSON Lines); other signals' lines are skipped."""
    try:
        docs = [orjson.loads(data)]
    except orjson.JSONDecodeError:
        docs = None
    if docs is None:
        docs = []
        for number, line in enumerate(data.splitlines(), 1):
            if line.strip():
                try:
                    docs.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise FileFormatError(f"line {number} is not valid JSON ({exc})") from None
    for doc in docs:
        if isinstance(doc, dict) and any(k in doc for k in _OTHER_SIGNALS) \
                and not any(k in doc for k in _OTLP_KEYS):
            continue
        yield doc


def read_file(path: str | Path, *, keep_tags: bool = True, fmt: str | None = None,
              progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The spans DataFrame of a trace file of any format (found from its content)."""
    from traceaudit.sources import _fast
    from traceaudit.spans import SpansBuilder, read_zipkin_stream

    stream, position = open_trace_file(path)
    with stream:
        head = stream.peek(8192) if hasattr(stream, "peek") else b""
        fmt = fmt or detect(head[:8192])
        if fmt == "zipkin" and not _is_span_list(head):
            return read_zipkin_stream(stream, keep_tags=keep_tags, progress=progress,
                                      position=position)
        if fmt == "otlp":  # JSON Lines: a line at a time, never the whole file in memory
            builder = SpansBuilder(keep_tags=keep_tags)
            gc.disable()
            try:
                _fast.add_otlp_stream(builder, stream)
            except ConvertError as exc:
                raise FileFormatError(str(exc)) from None
            finally:
                gc.enable()
            if progress is not None:
                progress(position())
            return builder.frame()
        data = _mapped(stream) if fmt == "jaeger" else stream.read()
        done = position()  # the stream is closed below
    builder = SpansBuilder(keep_tags=keep_tags)
    gc.disable()  # millions of acyclic objects: collections only cost time
    try:
        try:
            if fmt in ("jaeger", "otlp"):
                _fast.add_file(builder, data, fmt)
            else:
                builder.add(_zipkin_traces(data))
        except ConvertError as exc:
            raise FileFormatError(str(exc)) from None
    finally:
        gc.enable()
    if progress is not None:
        progress(done)
    return builder.frame()


def _mapped(stream: BinaryIO) -> bytes | mmap.mmap:
    """A whole file mapped, not copied (a 528 MB Jaeger file: 128k page faults and ~0.25 s
    less); read when it cannot be mapped (gzip, a pipe, an empty file)."""
    if isinstance(stream, io.BufferedReader) and stream.tell() == 0:
        try:
            return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            pass
    return stream.read()


def _is_span_list(head: bytes) -> bool:
    text = head.lstrip(_WS)
    return text[:1] == b"[" and text[1:].lstrip(_WS)[:1] == b"{"


class FileSource:
    """A trace file as a `TraceSource` (the window is not applied: a file is what was saved)."""

    kind = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = str(path)
        self.cut_off = False
        if not self.path.is_file():
            raise FileNotFoundError(f"{path}: no such file")

    def _traces(self) -> list[list[dict]]:
        return [t for chunk in iter_file_traces(self.path) for t in chunk]

    def iter_pages(self, window=None, *, service=None, span=None, limit=1000,
                   progress=None) -> Iterator[list[list[dict]]]:
        traces = self._traces()
        if progress is not None:
            progress(len(traces))
        if traces:
            yield traces

    def trace(self, trace_id: str) -> list[dict]:
        from traceaudit.sources.base import TraceNotFound

        want = normalize_trace_id(trace_id)
        for trace in self._traces():
            spans = [s for s in trace if isinstance(s, dict)
                     and _same(normalize_trace_id(s.get("traceId")), want)]
            if spans:
                return spans
        raise TraceNotFound(f"{self.path}: no trace {trace_id}")

    def services(self) -> list[str]:
        return sorted({str((s.get("localEndpoint") or {}).get("serviceName")).lower()
                       for t in self._traces() for s in t if isinstance(s, dict)
                       and (s.get("localEndpoint") or {}).get("serviceName")})

    def span_names(self, service: str) -> list[str]:
        return sorted({str(s.get("name") or "").lower() for t in self._traces() for s in t
                       if isinstance(s, dict) and str((s.get("localEndpoint") or {})
                                                      .get("serviceName")).lower()
                       == service.lower()})


def _same(a: str | None, b: str | None) -> bool:
    """One trace: equal ids, or a 64-bit id and a 128-bit id's low half (Zipkin's rule)."""
    return a is not None and b is not None and a[-16:] == b[-16:]
