"""Jaeger's query service: the supported `/api/v3` API (OTLP JSON answers), else the older
`/api/traces` JSON API of Jaeger releases up to v2.20 (which removed its search after).

api_v3 search needs an explicit RFC 3339 range and answers 404 when nothing matches; it merges
every trace into one `resourceSpans` list. The v1 API takes µs times and answers Jaeger's own
trace model. Both cap a search at `limit` traces, in no promised order: a full answer splits
its window (`_paging`). Names are matched as Jaeger spells them (`POST /api/v1/orders` for
`post /api/v1/orders`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from urllib.parse import quote

from traceaudit.sources._convert import (
    ConvertError,
    group_traces,
    jaeger_spans,
    jaeger_traces,
    otlp_spans,
)
from traceaudit.sources._http import Http, SourceError, safe_url
from traceaudit.sources._paging import Paged
from traceaudit.sources.base import Progress, TraceNotFound, resolve_name, trace_key
from traceaudit.window import Window, rfc3339

DEFAULT_URL = "http://127.0.0.1:16686"
_EMPTY = object()


class JaegerSource:
    """A client of one Jaeger query service (`base_url`: the UI's root, port 16686)."""

    kind = "jaeger"

    def __init__(self, base_url: str | None = None, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, attempts: int = 4, api: str | None = None,
                 session=None) -> None:
        self.http = Http(base_url or DEFAULT_URL, headers=headers, timeout=timeout,
                         attempts=attempts, session=session)
        self.url = safe_url(self.http.base_url)
        self.cut_off = False
        self._api = api  # "v3" or "v1"; found on first use when None

    @property
    def api(self) -> str:
        """`v3` if the server has `/api/v3/services`, else `v1`."""
        if self._api is None:
            found = self.http.get_json("api/v3/services", not_found=_EMPTY)
            self._api = "v1" if found is _EMPTY else "v3"
        return self._api

    def services(self) -> list[str]:
        if self.api == "v3":
            doc = self.http.get_json("api/v3/services")
            return _names(doc.get("services") if isinstance(doc, dict) else None,
                          self.http.url("api/v3/services"))
        return _names(_data(self.http.get_json("api/services"), self.http.url("api/services")),
                      self.http.url("api/services"))

    def span_names(self, service: str) -> list[str]:
        if self.api == "v3":
            url = "api/v3/operations"
            doc = self.http.get_json(url, {"service": service})
            ops = doc.get("operations") if isinstance(doc, dict) else None
            return sorted({o["name"] for o in ops or () if isinstance(o, dict)
                           and isinstance(o.get("name"), str)})
        url = f"api/services/{quote(service, safe='')}/operations"
        return _names(_data(self.http.get_json(url), self.http.url(url)), self.http.url(url))

    def iter_pages(self, window: Window, *, service: str | None = None,
                   span: str | None = None, limit: int = 1000,
                   progress: Progress | None = None) -> Iterator[list[list[dict]]]:
        """Jaeger searches one service at a time: without `service`, every service in turn."""
        known = self.services()
        services = [resolve_name(service, known)] if service else known
        search = self._search_v3 if self.api == "v3" else self._search_v1
        seen: set[str] = set()
        self.cut_off = False
        for name in services:
            op = resolve_name(span, self.span_names(name)) if span else None
            paged = Paged(lambda w, n, s=name, o=op: search(w, s, o, n), trace_key,
                          limit=limit, resolution=timedelta(milliseconds=1))
            paged.seen = seen  # a trace found through another service is not read again
            for page in paged.pages(window):
                yield page
                if progress is not None:
                    progress(len(seen))
            self.cut_off |= paged.cut_off

    def _search_v3(self, window: Window, service: str, span: str | None,
                   limit: int) -> list[list[dict]]:
        params = {"query.service_name": service, "query.start_time_min": rfc3339(window.start),
                  "query.start_time_max": rfc3339(window.end), "query.num_traces": limit}
        if span:
            params["query.operation_name"] = span
        doc = self.http.get_json("api/v3/traces", params, not_found=_EMPTY)  # 404: no match
        if doc is _EMPTY:
            return []
        return self._otlp(doc, "api/v3/traces")

    def _search_v1(self, window: Window, service: str, span: str | None,
                   limit: int) -> list[list[dict]]:
        params = {"service": service, "start": window.start_us, "end": window.end_us,
                  "limit": limit}
        if span:
            params["operation"] = span
        return self._jaeger(self.http.get_json("api/traces", params), "api/traces")

    def trace(self, trace_id: str) -> list[dict]:
        path = f"api/{'v3/' if self.api == 'v3' else ''}traces/{quote(trace_id, safe='')}"
        doc = self.http.get_json(path, not_found=_EMPTY)
        traces = [] if doc is _EMPTY else (self._otlp(doc, path) if self.api == "v3"
                                          else self._jaeger(doc, path))
        if not traces:
            raise TraceNotFound(f"{self.url}: no trace {trace_id}")
        return [s for t in traces for s in t]

    def _otlp(self, doc, path: str) -> list[list[dict]]:
        try:
            return group_traces(otlp_spans(doc))
        except ConvertError as exc:
            raise SourceError(f"{self.http.url(path)}: {exc}") from None

    def _jaeger(self, doc, path: str) -> list[list[dict]]:
        try:
            return [t for t in (jaeger_spans(tr) for tr in jaeger_traces(doc)) if t]
        except ConvertError as exc:
            raise SourceError(f"{self.http.url(path)}: {exc}") from None


def _data(doc, url: str):
    if not isinstance(doc, dict) or "data" not in doc:
        raise SourceError(f"{url}: answered JSON without Jaeger's data envelope")
    return doc["data"]


def _names(value, url: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(f"{url}: answered JSON that is not a list of names")
    return value
