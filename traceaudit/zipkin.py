"""Zipkin v2 HTTP client: fetch every trace of a window, newest first, page by page.

Zipkin answers at most `limit` traces per query (the newest). To get a whole window we ask
again with `endTs` just before the oldest trace of the last page, until the window is covered
or a page comes back short.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import orjson
import requests
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from traceaudit.window import Window, parse_time

DEFAULT_URL = "http://127.0.0.1:9411"


__all__ = ["Window", "ZipkinClient", "ZipkinError", "fetch_traces", "parse_time"]


class ZipkinError(RuntimeError):
    """Zipkin could not be reached or answered something that is not a list of traces."""


def default_url() -> str:
    return os.environ.get("ZIPKIN_URL", DEFAULT_URL).rstrip("/")


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    return isinstance(exc, requests.HTTPError) and exc.response is not None \
        and exc.response.status_code >= 500


class ZipkinClient:
    """A thin client of one Zipkin v2 API (`base_url` without `/api/v2`)."""

    def __init__(self, base_url: str | None = None, *, timeout: float = 30.0,
                 attempts: int = 4, session: requests.Session | None = None) -> None:
        self.base_url = (base_url or default_url()).rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.cut_off = False  # a full page could not be walked past (same-millisecond traces)
        self._get = retry(retry=retry_if_exception(_retryable), reraise=True,
                          stop=stop_after_attempt(attempts),
                          wait=wait_exponential(multiplier=0.2, max=5))(self._get_once)

    def _get_once(self, path: str, params: dict) -> requests.Response:
        response = self.session.get(f"{self.base_url}/api/v2/{path}", params=params,
                                    timeout=self.timeout)
        response.raise_for_status()
        return response

    def get_json(self, path: str, params: dict | None = None):
        url = f"{self.base_url}/api/v2/{path}"
        try:
            response = self._get(path, params or {})
        except requests.HTTPError as exc:
            body = exc.response.text.strip().splitlines()[:1] if exc.response is not None else []
            raise ZipkinError(f"{url}: HTTP {exc.response.status_code}"
                              f"{': ' + body[0][:200] if body else ''}") from None
        except requests.RequestException as exc:
            raise ZipkinError(f"{url}: {_reason(exc)}") from None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ZipkinError(f"{url}: answered something that is not JSON "
                              f"({response.content[:60]!r})") from None

    def traces_page(self, *, service: str | None, span: str | None, end_ms: int,
                    lookback_ms: int, limit: int) -> list[list[dict]]:
        params = {"endTs": end_ms, "lookback": max(lookback_ms, 1), "limit": limit}
        if service:
            params["serviceName"] = service
        if span:
            params["spanName"] = span
        page = self.get_json("traces", params)
        if not isinstance(page, list) or not all(isinstance(t, list) for t in page):
            raise ZipkinError(f"{self.base_url}/api/v2/traces: answered JSON that is not a "
                              "list of traces")
        return page

    def iter_pages(self, window: Window, *, service: str | None = None,
                   span: str | None = None, limit: int = 1000,
                   progress: Callable[[int, int], None] | None = None) -> Iterator[list]:
        """Pages of traces covering `window`, newest first; each trace appears once."""
        start_ms = int(window.start.timestamp() * 1000)
        end_ms = int(window.end.timestamp() * 1000)
        seen: set[str] = set()
        while end_ms >= start_ms:
            page = self.traces_page(service=service, span=span, end_ms=end_ms,
                                    lookback_ms=end_ms - start_ms, limit=limit)
            fresh = [t for t in page if t and _trace_key(t) not in seen]
            seen.update(_trace_key(t) for t in fresh)
            if fresh:
                yield fresh
            oldest = min((_trace_start_ms(t) for t in page if t), default=None)
            if progress is not None:
                progress(len(seen), end_ms - (oldest if oldest is not None else start_ms))
            if len(page) < limit or oldest is None or not fresh:
                self.cut_off = len(page) >= limit and not fresh
                return
            end_ms = oldest - 1 if oldest <= end_ms else end_ms - 1


def _trace_key(trace: list[dict]) -> str:
    first = trace[0]
    return str(first.get("traceId", "")).lstrip("0")[-16:] if isinstance(first, dict) else ""


def _trace_start_ms(trace: list[dict]) -> int | None:
    """The trace's time as Zipkin's query sees it: the root's timestamp, else the earliest."""
    stamps = [s.get("timestamp") for s in trace if isinstance(s, dict)]
    roots = [s.get("timestamp") for s in trace
             if isinstance(s, dict) and not s.get("parentId") and s.get("timestamp")]
    values = [v for v in (roots or stamps) if isinstance(v, int | float) and v > 0]
    return int(min(values) // 1000) if values else None


def _reason(exc: requests.RequestException) -> str:
    text = str(exc)
    for hint in ("Connection refused", "Name or service not known", "timed out",
                 "Max retries exceeded"):
        if hint in text:
            return "connection refused" if hint == "Connection refused" else hint.lower()
    return type(exc).__name__


def fetch_traces(window: Window, *, zipkin: str | None = None, service: str | None = "gateway",
                 span: str | None = "post /api/v1/orders", limit: int = 1000,
                 progress=None) -> tuple[list[list[dict]], bool]:
    """All traces of the window as raw Zipkin JSON, and whether a page was cut at `limit`."""
    client = ZipkinClient(zipkin)
    traces: list[list[dict]] = []
    for page in client.iter_pages(window, service=service, span=span, limit=limit,
                                  progress=progress):
        traces.extend(page)
    return traces, client.cut_off
