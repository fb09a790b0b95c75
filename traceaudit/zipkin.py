"""The Zipkin v2 client under its first names (it lives in `traceaudit.sources.zipkin`)."""

from __future__ import annotations

from traceaudit.sources._http import SourceError as ZipkinError
from traceaudit.sources.zipkin import DEFAULT_URL, ZipkinSource, default_url
from traceaudit.window import Window, parse_time

ZipkinClient = ZipkinSource

__all__ = ["DEFAULT_URL", "Window", "ZipkinClient", "ZipkinError", "default_url",
           "fetch_traces", "parse_time"]


def fetch_traces(window: Window, *, zipkin: str | None = None, service: str | None = "gateway",
                 span: str | None = "post /api/v1/orders", limit: int = 1000,
                 progress=None) -> tuple[list[list[dict]], bool]:
    """All traces of the window as raw Zipkin JSON, and whether a page was cut at `limit`."""
    client = ZipkinSource(zipkin)
    traces: list[list[dict]] = []
    for page in client.iter_pages(window, service=service, span=span, limit=limit,
                                  progress=progress):
        traces.extend(page)
    return traces, client.cut_off
