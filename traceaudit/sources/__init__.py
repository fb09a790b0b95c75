"""Where traces come from: Zipkin, Jaeger, Tempo or a file, behind one `TraceSource` seam.

`build_source()` is the one place a source is made (the CLI, logcorr and the notebook use it):
by `--source` and `--url`, or by the URL's scheme (`jaeger+http://…`, `tempo+https://…`,
`zipkin+http://…`, `file:…` or a path), else `$TRACEAUDIT_URL`, else `$ZIPKIN_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from traceaudit.sources._http import SourceError, parse_headers
from traceaudit.sources.base import TraceNotFound, TraceSource
from traceaudit.sources.files import FileFormatError, FileSource

KINDS = ("zipkin", "jaeger", "tempo", "file")

__all__ = ["KINDS", "FileFormatError", "SourceError", "TraceNotFound", "TraceSource",
           "build_source", "parse_headers", "split_url"]


def split_url(url: str | None, source: str | None = None) -> tuple[str, str]:
    """(kind, location) from `--source` and a URL or path; the URL's scheme may name the kind."""
    url = (url or os.environ.get("TRACEAUDIT_URL") or "").strip()
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        named, _, transport = scheme.partition("+")
        if named not in KINDS[:3]:
            raise ValueError(f"unknown trace source {named!r} in {named}+{transport}://… "
                             f"(one of {', '.join(KINDS)})")
        if source and source != named:
            raise ValueError(f"--source {source} but the URL says {named}")
        return named, f"{transport}://{rest}"
    if url.startswith("file:"):
        return "file", url.removeprefix("file://").removeprefix("file:")
    if source:
        if source not in KINDS:
            raise ValueError(f"unknown trace source {source!r} (one of {', '.join(KINDS)})")
        return source, url
    if url and not sep:  # no scheme: a path
        return "file", url
    return "zipkin", url


def build_source(url: str | None = None, *, source: str | None = None,
                 headers: Mapping[str, str] | Iterable[str] | None = None,
                 timeout: float = 30.0, attempts: int = 4) -> TraceSource:
    """The source of `url` (see `split_url`); `headers` as a dict or `Name: value` strings."""
    kind, location = split_url(url, source)
    if headers is not None and not isinstance(headers, Mapping):
        headers = parse_headers(list(headers))
    options = {"headers": headers, "timeout": timeout, "attempts": attempts}
    if kind == "file":
        if not location:
            raise ValueError("--source file needs a path (--url PATH)")
        return FileSource(Path(location))
    if kind == "jaeger":
        from traceaudit.sources.jaeger import JaegerSource

        return JaegerSource(location or None, **options)
    if kind == "tempo":
        from traceaudit.sources.tempo import TempoSource

        return TempoSource(location or None, **options)
    from traceaudit.sources.zipkin import ZipkinSource

    return ZipkinSource(location or None, **options)


open_source = build_source  # the notebook's name for it


def load_spans(url: str | None = None, *, since: str = "1h", until: str | None = None,
               service: str | None = "gateway", span: str | None = "post /api/v1/orders",
               source: str | None = None, headers: Mapping[str, str] | Iterable[str] | None = None,
               limit: int = 1000, keep_tags: bool = True):
    """The spans DataFrame of a window of traces (or of a whole file) from any source: a
    Zipkin URL, `jaeger+http://…`, `tempo+http://…`, a trace file, else `$TRACEAUDIT_URL`,
    else `$ZIPKIN_URL`. `frame.attrs["cut_off"]` tells whether a query stayed at its limit."""
    from traceaudit.spans import read_spans, spans_frame
    from traceaudit.window import Window

    if url is None and source is None and not os.environ.get("TRACEAUDIT_URL"):
        from traceaudit.sources.zipkin import default_url

        url = default_url()
    found = build_source(url, source=source, headers=headers)
    if isinstance(found, FileSource):
        frame = read_spans(found.path, keep_tags=keep_tags)
    else:
        window = Window.parse(since, until)
        frame = spans_frame([t for page in found.iter_pages(window, service=service, span=span,
                                                            limit=limit) for t in page],
                            keep_tags=keep_tags)
    frame.attrs["cut_off"] = found.cut_off
    return frame
