"""Zipkin v2 HTTP API: every trace of a window, newest first, page by page.

Zipkin answers at most `limit` traces per query (the newest). To get a whole window we ask
again with `endTs` just before the oldest trace of the last page, until the window is covered
or a page comes back short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from urllib.parse import quote

from traceaudit.sources._http import Http, SourceError, safe_url
from traceaudit.sources.base import Progress, TraceNotFound, trace_key
from traceaudit.window import Window

DEFAULT_URL = "http://127.0.0.1:9411"


def default_url() -> str:
    return os.environ.get("ZIPKIN_URL", DEFAULT_URL).rstrip("/")


class ZipkinSource:
    """A client of one Zipkin v2 API (`base_url` without `/api/v2`)."""

    kind = "zipkin"

    def __init__(self, base_url: str | None = None, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, attempts: int = 4, session=None) -> None:
        self.http = Http(base_url or default_url(), headers=headers, timeout=timeout,
                         attempts=attempts, session=session)
        self.base_url = self.http.base_url
        self.url = safe_url(self.base_url)
        self.cut_off = False  # a full page could not be walked past (same-millisecond traces)

    def get_json(self, path: str, params: dict | None = None, **kwargs):
        """JSON of `GET /api/v2/<path>`."""
        return self.http.get_json(f"api/v2/{path}", params, **kwargs)

    def traces_page(self, *, service: str | None, span: str | None, end_ms: int,
                    lookback_ms: int, limit: int) -> list[list[dict]]:
        params = {"endTs": end_ms, "lookback": max(lookback_ms, 1), "limit": limit}
        if service:
            params["serviceName"] = service
        if span:
            params["spanName"] = span
        page = self.get_json("traces", params)
        if not isinstance(page, list) or not all(isinstance(t, list) for t in page):
            raise SourceError(f"{self.url}/api/v2/traces: answered JSON that is not a "
                              "list of traces")
        return page

    def iter_pages(self, window: Window, *, service: str | None = None,
                   span: str | None = None, limit: int = 1000,
                   progress: Progress | None = None) -> Iterator[list[list[dict]]]:
        """Pages of traces covering `window`, newest first; each trace appears once."""
        start_ms = window.start_us // 1000
        end_ms = window.end_us // 1000
        seen: set[str] = set()
        self.cut_off = False
        while end_ms >= start_ms:
            page = self.traces_page(service=service, span=span, end_ms=end_ms,
                                    lookback_ms=end_ms - start_ms, limit=limit)
            fresh = [t for t in page if t and trace_key(t) not in seen]
            seen.update(trace_key(t) for t in fresh)
            if fresh:
                yield fresh
            if progress is not None:
                progress(len(seen))
            oldest = min((_trace_start_ms(t) for t in page if t), default=None)
            if len(page) < limit or oldest is None or not fresh:
                self.cut_off = len(page) >= limit and not fresh
                return
            end_ms = oldest - 1 if oldest <= end_ms else end_ms - 1

    def trace(self, trace_id: str) -> list[dict]:
        trace = self.get_json(f"trace/{quote(trace_id, safe='')}", not_found=None)
        if trace is None or trace == []:
            raise TraceNotFound(f"{self.url}: no trace {trace_id}")
        if not isinstance(trace, list):
            raise SourceError(f"{self.url}/api/v2/trace/{trace_id}: answered something that "
                              "is not a trace")
        return trace

    def services(self) -> list[str]:
        return _strings(self.get_json("services"), f"{self.url}/api/v2/services")

    def span_names(self, service: str) -> list[str]:
        return _strings(self.get_json("spans", {"serviceName": service}),
                        f"{self.url}/api/v2/spans")


def _strings(value, url: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(f"{url}: answered JSON that is not a list of names")
    return value


def _trace_start_ms(trace: list[dict]) -> int | None:
    """The trace's time as Zipkin's query sees it: the root's timestamp, else the earliest."""
    stamps = [s.get("timestamp") for s in trace if isinstance(s, dict)]
    roots = [s.get("timestamp") for s in trace
             if isinstance(s, dict) and not s.get("parentId") and s.get("timestamp")]
    values = [v for v in (roots or stamps) if isinstance(v, int | float) and v > 0]
    return int(min(values) // 1000) if values else None
