"""Grafana Tempo: TraceQL search over `/api/search`, then every hit fetched whole by id.

A search hit holds at most a few matching spans of its trace, so each trace is read through
`/api/v2/traces/{id}` (protobuf-JSON: base64 ids, enum names; a trace not found is a 200 with an
empty `trace`). `start`/`end` are whole seconds; a search answers at most `limit` traces, so a
full answer splits its window (`_paging`) down to one second. Multi-tenant Tempo wants the
`X-Scope-OrgID` header (`--header 'X-Scope-OrgID: tenant'`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import quote

from traceaudit.ids import normalize_trace_id
from traceaudit.sources._convert import ConvertError, otlp_spans
from traceaudit.sources._http import Http, SourceError, safe_url
from traceaudit.sources._paging import Paged
from traceaudit.sources.base import Progress, TraceNotFound, resolve_name
from traceaudit.window import Window

DEFAULT_URL = "http://127.0.0.1:3200"
FETCHERS = 8  # traces fetched at once


class TempoSource:
    """A client of one Tempo HTTP API (`base_url`: its root, port 3200)."""

    kind = "tempo"

    def __init__(self, base_url: str | None = None, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, attempts: int = 4, session=None) -> None:
        self.http = Http(base_url or DEFAULT_URL, headers=headers, timeout=timeout,
                         attempts=attempts, session=session)
        self.url = safe_url(self.http.base_url)
        self.cut_off = False
        self.missing = 0  # hits whose trace could not be read back (gone, or not found)

    def _tag_values(self, tag: str, query: str | None = None) -> list[str]:
        path = f"api/v2/search/tag/{tag}/values"
        doc = self.http.get_json(path, {"q": query} if query else None)
        values = doc.get("tagValues") if isinstance(doc, dict) else None
        if not isinstance(values, list):
            raise SourceError(f"{self.http.url(path)}: answered JSON without tagValues")
        return sorted({v["value"] if isinstance(v, dict) else v for v in values
                       if isinstance(v, str) or (isinstance(v, dict)
                                                 and isinstance(v.get("value"), str))})

    def services(self) -> list[str]:
        return self._tag_values("resource.service.name")

    def span_names(self, service: str) -> list[str]:
        return self._tag_values("name", f"{{resource.service.name={_quote(service)}}}")

    def query(self, service: str | None, span: str | None) -> str:
        """The TraceQL of traces with a `service` span named `span`, spelled as Tempo has them."""
        service = resolve_name(service, self.services()) if service else None
        if service and span:
            span = resolve_name(span, self.span_names(service))
        terms = ([f"resource.service.name = {_quote(service)}"] if service else []) + \
            ([f"name = {_quote(span)}"] if span else [])
        return "{ " + " && ".join(terms) + " }" if terms else "{}"

    def iter_pages(self, window: Window, *, service: str | None = None,
                   span: str | None = None, limit: int = 1000,
                   progress: Progress | None = None) -> Iterator[list[list[dict]]]:
        q = self.query(service, span)
        paged = Paged(lambda w, n: self._search(q, w, n), lambda tid: tid, limit=limit,
                      resolution=timedelta(seconds=1), whole=True)
        self.cut_off = False
        done = 0
        with ThreadPoolExecutor(FETCHERS) as pool:
            for ids in paged.pages(window):
                traces = [t for t in pool.map(self._trace_or_none, ids) if t]
                self.missing += len(ids) - len(traces)
                done += len(traces)
                if traces:
                    yield traces
                if progress is not None:
                    progress(done)
        self.cut_off = paged.cut_off

    def _search(self, q: str, window: Window, limit: int) -> list[str]:
        start = math.floor(window.start.timestamp())
        end = max(math.ceil(window.end.timestamp()), start + 1)
        doc = self.http.get_json("api/search", {"q": q, "start": start, "end": end,
                                                "limit": limit, "spss": 1})
        hits = doc.get("traces") if isinstance(doc, dict) else None
        if not isinstance(hits, list):
            raise SourceError(f"{self.http.url('api/search')}: answered JSON without traces")
        out = []
        for hit in hits:
            tid = normalize_trace_id(hit.get("traceID")) if isinstance(hit, dict) else None
            if tid:  # search ids have their leading zeros trimmed: padded here
                out.append(tid)
        return out

    def _trace_or_none(self, trace_id: str) -> list[dict] | None:
        try:
            return self.trace(trace_id)
        except TraceNotFound:
            return None

    def trace(self, trace_id: str) -> list[dict]:
        path = f"api/v2/traces/{quote(trace_id, safe='')}"
        doc = self.http.get_json(path, not_found={})
        try:
            spans = list(otlp_spans(doc))
        except ConvertError as exc:
            raise SourceError(f"{self.http.url(path)}: {exc}") from None
        if not spans:
            raise TraceNotFound(f"{self.url}: no trace {trace_id}")
        return spans


def _quote(value: str) -> str:
    """A TraceQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
