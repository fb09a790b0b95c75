"""Zipkin v2 traces → OTLP JSON and Jaeger JSON, as those backends would hand them back.

Used to write the same traces in every format (the tests, the benchmark). Zipkin's shared
client/server span ids are split as Jaeger's and Tempo's span-id dedupers do (see `unshare`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traceaudit.ids import KIND_NUMBERS, normalize_span_id


def unshare(trace: list[dict]) -> list[dict]:
    """A copy of a Zipkin trace without shared span ids, split as Jaeger's span-id deduper
    does (a SERVER sharing a CLIENT's id gets a new id, its parent the shared id), and its
    children placed as Zipkin places them: under the server when they are in the server's
    service, else under the client. (Jaeger moves them all under the server, which changes
    self times on odd traces such as yelp.json; the conversion keeps Zipkin's meaning.)"""
    clients = {s.get("id") for s in trace if s.get("kind") != "SERVER"}
    used = {normalize_span_id(s.get("id")) for s in trace}
    renamed: dict[tuple[str, str], str] = {}  # (shared id, server's service) → new id
    out = []
    counter = 0
    for span in trace:
        sid = span.get("id")
        if span.get("kind") == "SERVER" and sid in clients:  # Jaeger looks at ids, not flags
            counter += 1
            while f"{counter:016x}" in used:
                counter += 1
            new = f"{counter:016x}"
            used.add(new)
            renamed[(sid, _service(span))] = new
            span = {**span, "id": new, "parentId": sid}
        if "shared" in span:  # no other format has the flag
            span = {k: v for k, v in span.items() if k != "shared"}
        out.append(span)
    if renamed:
        new_ids = set(renamed.values())
        out = [{**s, "parentId": renamed[(s["parentId"], _service(s))]}
               if (s.get("parentId"), _service(s)) in renamed and s["id"] not in new_ids
               else s for s in out]
    return out


def _service(span: dict) -> str | None:
    return (span.get("localEndpoint") or {}).get("serviceName")


def _attrs(tags: dict[str, str]) -> list[dict]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in tags.items()]


def _split_tags(span: dict) -> tuple[dict, dict | None]:
    """Span tags without the status ones, and the OTLP status they stand for."""
    tags = dict(span.get("tags") or {})
    status = None
    if "error" in tags:
        status = {"code": 2, "message": tags.pop("error")}
        tags.pop("otel.status_code", None)
    elif tags.pop("otel.status_code", None) == "OK":
        status = {"code": 1}
    remote = (span.get("remoteEndpoint") or {}).get("serviceName")
    if remote and span.get("kind") in ("CLIENT", "PRODUCER") and "peer.service" not in tags:
        tags["peer.service"] = remote
    return tags, status


def to_otlp(traces: Iterable[list[dict]]) -> dict:
    """One OTLP `TracesData` (hex ids, integer enums, ns times as strings) of all traces, a
    `ResourceSpans` per service."""
    by_service: dict[str, list[dict]] = {}
    for trace in traces:
        for span in unshare(trace):
            tags, status = _split_tags(span)
            start_ns = int(span.get("timestamp") or 0) * 1000
            out: dict[str, Any] = {
                "traceId": span["traceId"], "spanId": span["id"],
                "name": span.get("name") or "",
                "kind": KIND_NUMBERS.get(span.get("kind"), 1),
                "startTimeUnixNano": str(start_ns),
                "endTimeUnixNano": str(start_ns + int(span.get("duration") or 0) * 1000),
                "attributes": _attrs(tags),
                "status": status or {},
            }
            if span.get("parentId"):
                out["parentSpanId"] = span["parentId"]
            service = (span.get("localEndpoint") or {}).get("serviceName") or "unknown_service"
            by_service.setdefault(service, []).append(out)
    return {"resourceSpans": [
        {"resource": {"attributes": _attrs({"service.name": service})},
         "scopeSpans": [{"scope": {}, "spans": spans}]}
        for service, spans in by_service.items()]}


def to_jaeger(traces: Iterable[list[dict]]) -> dict:
    """Jaeger's JSON envelope `{"data": [trace, …]}` (the UI's download) of the traces."""
    data = []
    for trace in traces:
        processes: dict[str, str] = {}
        spans = []
        for span in unshare(trace):
            tags, status = _split_tags(span)
            kvs = [{"key": k, "type": "string", "value": v} for k, v in tags.items()]
            if span.get("kind"):
                kvs.append({"key": "span.kind", "type": "string",
                            "value": span["kind"].lower()})
            if status and status["code"] == 2:
                kvs.append({"key": "otel.status_code", "type": "string", "value": "ERROR"})
                if status["message"]:
                    kvs.append({"key": "otel.status_description", "type": "string",
                                "value": status["message"]})
                kvs.append({"key": "error", "type": "bool", "value": True})
            service = (span.get("localEndpoint") or {}).get("serviceName") or "unknown_service"
            pid = processes.setdefault(service, f"p{len(processes) + 1}")
            refs = [{"refType": "CHILD_OF", "traceID": span["traceId"],
                     "spanID": span["parentId"]}] if span.get("parentId") else []
            spans.append({"traceID": span["traceId"], "spanID": span["id"],
                          "operationName": span.get("name") or "", "references": refs,
                          "startTime": int(span.get("timestamp") or 0),
                          "duration": int(span.get("duration") or 0), "tags": kvs,
                          "logs": [], "processID": pid, "warnings": None})
        if spans:
            data.append({"traceID": spans[0]["traceID"], "spans": spans,
                         "processes": {pid: {"serviceName": s, "tags": []}
                                       for s, pid in processes.items()},
                         "warnings": None})
    return {"data": data}
