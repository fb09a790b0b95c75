"""A real local HTTP server standing in for Jaeger and Tempo (neither can run here).

It answers with the shapes of `research/trace-sources.md` and its fixtures: a Jaeger api_v3
(OTLP JSON, 404 on an empty search, RFC 3339 ranges required), a Jaeger v1 `/api` (µs times,
Jaeger's trace model), and a Tempo (`/api/search` in seconds with trimmed hex ids,
`/api/v2/traces/{id}` with base64 ids and enum names, 200 + empty trace when not found, an
optional `X-Scope-OrgID`). Searches answer at most `limit` traces, oldest first, so a client
that trusts the order or the count is caught. Faults are queued per path prefix.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from traceaudit.ids import normalize_trace_id
from traceaudit.sources._export import to_jaeger, to_otlp

Answer = tuple[int, bytes]


class Replay:
    """`with Replay(route) as server:` serves `route(path, query, headers) -> (status, body)`."""

    def __init__(self, route: Callable[[str, dict, dict], Answer]) -> None:
        self.route = route
        self.requests: list[tuple[str, dict, dict]] = []
        self.faults: list[list] = []  # [prefix, kind, value, times]
        self.lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v if len(v) > 1 else v[0]
                         for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = unquote(parts.path)
                replay.requests.append((path, query, headers))
                status, body = replay._answer(path, query, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # the client may have given up waiting (a timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def fault(self, prefix: str, kind: str, value=None, times: int = 1) -> None:
        """Answer the next `times` GETs under `prefix` with `kind`: `status` (value: code),
        `delay` (value: seconds, then the real answer), `garbage`."""
        self.faults.append([prefix, kind, value, times])

    def _answer(self, path: str, query: dict, headers: dict) -> Answer:
        with self.lock:  # one fault a request, taken when it arrives
            fault = next((f for f in self.faults if f[3] and path.startswith(f[0])), None)
            if fault is not None:
                fault[3] -= 1
        if fault is not None:
            kind, value = fault[1], fault[2]
            if kind == "status":
                return value, b'{"error": "injected"}\n' if value < 500 else \
                    b"upstream storage unavailable\nmore detail\n"
            if kind == "garbage":
                return 200, b"<html>a proxy's login page</html>"
            if kind == "delay":
                time.sleep(value)
        return self.route(path, query, headers)

    def paths(self, prefix: str) -> list[tuple[str, dict, dict]]:
        return [r for r in self.requests if r[0].startswith(prefix)]

    def __enter__(self) -> Replay:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the stand-ins' data


def spelled_like_otel(traces: list[list[dict]]) -> list[list[dict]]:
    """Zipkin-style lower-case names as OTel writes them (`POST /api/v1/orders`, `POST`)."""
    def name(n: str) -> str:
        method, sep, rest = n.partition(" ")
        return method.upper() + sep + rest if method in ("get", "post", "put") else n
    return [[{**s, "name": name(s.get("name", ""))} for s in t] for t in traces]


def _start_us(trace: list[dict]) -> int:
    return min(s["timestamp"] for s in trace if s.get("timestamp"))


def _matches(trace, service: str | None, span: str | None, lo_us: int, hi_us: int) -> bool:
    """One span of `service` named `span` starting in [lo, hi] (Jaeger's per-span search)."""
    return any((service is None or s["localEndpoint"]["serviceName"] == service)
               and (span is None or s.get("name") == span)
               and lo_us <= s.get("timestamp", 0) <= hi_us for s in trace)


def _by_id(traces: list[list[dict]], trace_id: str) -> list[dict] | None:
    want = normalize_trace_id(trace_id)
    return next((t for t in traces if want and t[0]["traceId"][-16:] == want[-16:]), None)


def _rfc3339_us(text: str) -> int:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def _services(traces) -> list[str]:
    return sorted({s["localEndpoint"]["serviceName"] for t in traces for s in t})


def _names(traces, service: str) -> list[str]:
    return sorted({s["name"] for t in traces for s in t
                   if s["localEndpoint"]["serviceName"] == service})


def jaeger_route(traces: list[list[dict]], *, api: str = "v3",
                 recorded: dict[str, bytes] | None = None):
    """Jaeger's query service over `traces` (api `v3`: with /api/v3; `v1`: only /api)."""
    recorded = recorded or {}

    def route(path: str, q: dict, headers: dict) -> Answer:
        if path in recorded:
            return 200, recorded[path]
        if path.startswith("/api/v3/"):
            if api != "v3":
                return 404, b"404 page not found\n"
            return _v3(path, q)
        return _v1(path, q)

    def not_found_v3() -> Answer:
        return 404, b'{"error":{"httpCode":404,"message":"No traces found"}}\n'

    def _v3(path: str, q: dict) -> Answer:
        if path == "/api/v3/services":
            return 200, orjson.dumps({"services": _services(traces)})
        if path == "/api/v3/operations":
            return 200, orjson.dumps({"operations": [{"name": n, "spanKind": ""} for n in
                                                     _names(traces, q["service"])]})
        if path == "/api/v3/traces":
            try:
                lo = _rfc3339_us(q["query.start_time_min"])
                hi = _rfc3339_us(q["query.start_time_max"])
            except (KeyError, ValueError):
                return 400, b'{"error":{"httpCode":400,"message":"malformed parameter ' \
                    b'query.startTimeMin"}}\n'
            hits = [t for t in traces if _matches(t, q.get("query.service_name"),
                                                  q.get("query.operation_name"), lo, hi)]
            hits = hits[:int(q.get("query.num_traces", 100))]
            return (200, orjson.dumps({"result": to_otlp(hits)})) if hits else not_found_v3()
        m = re.fullmatch(r"/api/v3/traces/([^/]+)", path)
        if m:
            trace = _by_id(traces, m.group(1))
            return (200, orjson.dumps({"result": to_otlp([trace])})) if trace \
                else not_found_v3()
        return 404, b"404 page not found\n"

    def _v1(path: str, q: dict) -> Answer:
        if path == "/api/services":
            return 200, orjson.dumps({"data": _services(traces), "total": 0})
        m = re.fullmatch(r"/api/services/([^/]+)/operations", path)
        if m:
            return 200, orjson.dumps({"data": _names(traces, m.group(1))})
        if path == "/api/traces":
            if "service" not in q:
                return 400, b'{"data":null,"errors":[{"code":400,"msg":"parameter ' \
                    b'\'service\' is required"}]}\n'
            lo, hi = int(q["start"]), int(q["end"])
            hits = [t for t in traces if _matches(t, q["service"], q.get("operation"), lo, hi)]
            return 200, orjson.dumps(to_jaeger(hits[:int(q.get("limit", 100))]))
        m = re.fullmatch(r"/api/traces/([^/]+)", path)
        if m:
            trace = _by_id(traces, m.group(1))
            if trace is None:
                return 404, b'{"data":null,"total":0,"limit":0,"offset":0,"errors":' \
                    b'[{"code":404,"msg":"trace not found"}]}\n'
            return 200, orjson.dumps(to_jaeger([trace]))
        return 404, b"404 page not found\n"

    return route


def tempo_encoded(doc: dict) -> dict:
    """OTLP JSON as Tempo writes it: base64 ids, enum names."""
    kinds = {1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT",
             4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER"}
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(
                            span[key].zfill(32 if key == "traceId" else 16))).decode()
                span["kind"] = kinds[span["kind"]]
                if span["status"].get("code") == 2:
                    span["status"]["code"] = "STATUS_CODE_ERROR"
    return doc


_TRACEQL = re.compile(r'(resource\.service\.name|name) = "((?:[^"\\]|\\.)*)"')


def tempo_route(traces: list[list[dict]], *, tenant: str | None = None,
                recorded: dict[str, bytes] | None = None):
    """Tempo's HTTP API over `traces`; with `tenant`, requests need that X-Scope-OrgID."""
    recorded = recorded or {}

    def route(path: str, q: dict, headers: dict) -> Answer:
        if tenant and headers.get("x-scope-orgid") != tenant:
            return 401, b"no org id\n"
        if path in recorded:
            return 200, recorded[path]
        if path == "/api/v2/search/tag/resource.service.name/values":
            return 200, orjson.dumps({"tagValues": [{"type": "string", "value": s}
                                                    for s in _services(traces)]})
        if path == "/api/v2/search/tag/name/values":
            service = dict(_TRACEQL.findall(q.get("q", ""))).get("resource.service.name")
            names = sorted({s["name"] for t in traces for s in t if service is None
                            or s["localEndpoint"]["serviceName"] == service})
            return 200, orjson.dumps({"tagValues": [{"type": "string", "value": n}
                                                    for n in names]})
        if path == "/api/search":
            try:
                start, end, limit = int(q["start"]), int(q["end"]), int(q.get("limit", 20))
            except (KeyError, ValueError):
                return 400, b"invalid start or end: must be epoch seconds\n"
            if end <= start:
                return 400, b"invalid start: must be before end\n"
            terms = {k: v.replace('\\"', '"').replace("\\\\", "\\")
                     for k, v in _TRACEQL.findall(q.get("q", ""))}
            hits = [t for t in traces if _matches(
                t, terms.get("resource.service.name"), terms.get("name"),
                start * 1_000_000, end * 1_000_000)][:limit]
            return 200, orjson.dumps({"traces": [
                {"traceID": t[0]["traceId"].lstrip("0"), "rootServiceName": "gateway",
                 "startTimeUnixNano": str(_start_us(t) * 1000),
                 "spanSets": [{"spans": [{"spanID": t[0]["id"]}], "matched": 1}]}
                for t in hits], "metrics": {"inspectedTraces": len(traces)}})
        m = re.fullmatch(r"/api/v2/traces/([0-9a-fA-F]+)", path)
        if m:
            trace = _by_id(traces, m.group(1))
            if trace is None:
                return 200, b'{"trace":{},"metrics":{}}'
            return 200, orjson.dumps({"trace": tempo_encoded(to_otlp([trace])),
                                      "metrics": {"inspectedBytes": "1"}})
        return 404, b"404 page not found\n"

    return route


def zipkin_route(traces: list[list[dict]]):
    """Zipkin's /api/v2 over `traces` (newest first, at most `limit`, by root time)."""
    def route(path: str, q: dict, headers: dict) -> Answer:
        if path == "/api/v2/traces":
            end_us, lookback_us = int(q["endTs"]) * 1000, int(q["lookback"]) * 1000
            hits = sorted((t for t in traces if _matches(
                t, q.get("serviceName"), q.get("spanName"), end_us - lookback_us,
                end_us + 999)), key=_start_us, reverse=True)
            return 200, orjson.dumps(hits[:int(q.get("limit", 10))])
        m = re.fullmatch(r"/api/v2/trace/([0-9a-f]+)", path)
        if m:
            trace = _by_id(traces, m.group(1))
            return (200, orjson.dumps(trace)) if trace else (404, b"trace not found\n")
        if path == "/api/v2/services":
            return 200, orjson.dumps(_services(traces))
        return 404, b"not found\n"
    return route
