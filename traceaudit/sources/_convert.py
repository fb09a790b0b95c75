"""OTLP/JSON (files, Jaeger api_v3, Tempo) and Jaeger's JSON trace model → Zipkin v2 spans.

The mapping is `research/trace-sources.md` §6.2: ids lower-hex (base64 accepted), kind
SERVER/CLIENT/PRODUCER/CONSUMER (none for INTERNAL), µs times (`start_ns // 1000`, the
duration from the truncated end, at least 1), names and services lower-cased as a Zipkin server
stores them, span attributes and the scope as string tags, an ERROR status as `otel.status_code`
plus `error` (its message, often ""), the callee from `peer.service` (`service.peer.name`).
No span ids are shared: a hop is a CLIENT span and its SERVER child.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from traceaudit.ids import foreign_id, kind_name, normalize_span_id, normalize_trace_id, status_name

_RESOURCE_LISTS = ("resourceSpans", "batches")
_SCOPE_LISTS = ("scopeSpans", "instrumentationLibrarySpans")
_PEER_NAME = ("peer.service", "service.peer.name")
_PEER_ADDRESS = ("server.address", "network.peer.address", "net.peer.ip", "peer.ipv4",
                 "peer.ipv6")
_PEER_PORT = ("server.port", "network.peer.port", "net.peer.port", "peer.port")


class ConvertError(ValueError):
    """The document is not of the shape its reader expects."""


# ---------------------------------------------------------------- OTLP/JSON (and Tempo's)


def resource_spans(doc: Any) -> list:
    """The `ResourceSpans` of an OTLP-shaped document: `{"resourceSpans"}` (OTLP, Tempo v2's
    inner trace), `{"batches"}` (Tempo v1), `{"trace": …}` (Tempo v2), `{"result": …}`
    (Jaeger api_v3)."""
    if not isinstance(doc, dict):
        raise ConvertError("expected a JSON object with resourceSpans")
    for key in ("trace", "result"):
        if isinstance(doc.get(key), dict):
            return resource_spans(doc[key])
    for key in _RESOURCE_LISTS:
        value = doc.get(key)
        if isinstance(value, list):
            return value
    if doc.keys() <= {"metrics", "status", "message"}:  # Tempo v2's empty trace
        return []
    raise ConvertError("expected a JSON object with resourceSpans")


def otlp_spans(doc: Any) -> Iterator[dict]:
    """Zipkin v2 span dicts of every span in an OTLP-shaped document (see `resource_spans`)."""
    for rs in resource_spans(doc):
        if not isinstance(rs, dict):
            continue
        resource = rs.get("resource") or {}
        service = _attributes(resource.get("attributes")).get("service.name") \
            or "unknown_service"
        endpoint = {"serviceName": service.lower()}
        for key in _SCOPE_LISTS:
            for ss in rs.get(key) or ():
                if not isinstance(ss, dict):
                    continue
                scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
                for span in ss.get("spans") or ():
                    out = _otlp_span(span, endpoint, scope)
                    if out is not None:
                        yield out


def _otlp_span(span: Any, endpoint: dict, scope: dict) -> dict | None:
    if not isinstance(span, dict):
        return None
    trace_id = normalize_trace_id(foreign_id(span.get("traceId"), 16))
    span_id = normalize_span_id(foreign_id(span.get("spanId"), 8))
    if trace_id is None or span_id is None:
        return None
    start_ns, end_ns = _int(span.get("startTimeUnixNano")), _int(span.get("endTimeUnixNano"))
    tags = _attributes(span.get("attributes"))
    kind = kind_name(span.get("kind"))
    out: dict[str, Any] = {"traceId": trace_id, "id": span_id}
    parent = normalize_span_id(foreign_id(span.get("parentSpanId"), 8))
    if parent:
        out["parentId"] = parent
    if kind:
        out["kind"] = kind
    out["name"] = str(span.get("name") or "").lower()
    if start_ns > 0:
        start_us = start_ns // 1000
        out["timestamp"] = start_us
        if end_ns > start_ns:  # equal: no duration, as Zipkin reads a 0
            out["duration"] = max(1, end_ns // 1000 - start_us)
    out["localEndpoint"] = endpoint
    remote = _remote(kind, tags)
    if remote:
        out["remoteEndpoint"] = remote
    if isinstance(scope, dict) and scope.get("name"):
        tags["otel.scope.name"] = str(scope["name"])
        if scope.get("version"):
            tags["otel.scope.version"] = str(scope["version"])
    status = span.get("status")
    if isinstance(status, dict):
        code = status_name(status.get("code"))
        if code:
            tags["otel.status_code"] = code
            if code == "ERROR" and "error" not in tags:
                tags["error"] = str(status.get("message") or "")
    out["tags"] = tags
    events = [{"timestamp": _int(e.get("timeUnixNano")) // 1000, "value": str(e.get("name"))}
              for e in span.get("events") or () if isinstance(e, dict) and e.get("name")]
    if events:
        out["annotations"] = events
    return out


def _int(value: Any) -> int:
    """OTLP's 64-bit integers: decimal strings, or numbers; anything else is 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0


def _attributes(values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(values, list):
        return out
    for kv in values:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            text = _any_value(kv.get("value"))
            if text is not None:
                out[kv["key"]] = text
    return out


def _any_value(value: Any) -> str | None:
    """An OTLP `AnyValue` as Zipkin tag text: booleans lower-case, arrays and maps as JSON."""
    plain = _plain(value)
    if plain is None:
        return None
    if isinstance(plain, list | dict):
        return orjson.dumps(plain).decode()
    return _text(plain)


def _plain(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for key, item in value.items():
        if key == "stringValue":
            return item if isinstance(item, str) else str(item)
        if key == "intValue":
            return _int(item)
        if key == "boolValue":
            return item is True or item == "true"
        if key == "doubleValue":
            return float(item) if isinstance(item, int | float | str) else None
        if key == "bytesValue":
            return item
        if key == "arrayValue":
            return [_plain(v) for v in (item or {}).get("values") or ()]
        if key == "kvlistValue":
            return {kv.get("key"): _plain(kv.get("value"))
                    for kv in (item or {}).get("values") or () if isinstance(kv, dict)}
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _remote(kind: str | None, tags: dict[str, str]) -> dict | None:
    """The callee of a CLIENT/PRODUCER span: named by peer.service, located by its address."""
    if kind not in ("CLIENT", "PRODUCER"):
        return None
    out: dict[str, Any] = {}
    name = next((tags[k] for k in _PEER_NAME if tags.get(k)), None)
    if name:
        out["serviceName"] = name.lower()
    for key in _PEER_ADDRESS:
        address = tags.get(key)
        if address:
            ip = _ip(address)
            if ip is not None:
                out["ipv4" if ip.version == 4 else "ipv6"] = str(ip)
                break
    for key in _PEER_PORT:
        port = tags.get(key)
        if port and port.isdigit() and 0 < int(port) < 65536:
            out["port"] = int(port)
            break
    return out or None


def _ip(text: str):
    if text.isdigit():  # Jaeger's peer.ipv4 as an int
        try:
            return ipaddress.IPv4Address(int(text))
        except ValueError:
            return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# ---------------------------------------------------------------- Jaeger's JSON trace model


def jaeger_traces(doc: Any) -> list[dict]:
    """The traces of a Jaeger JSON document: the API/download envelope `{"data": [...]}`, a
    bare list of traces, or one trace object."""
    if isinstance(doc, dict) and "data" in doc:
        data = doc["data"]
        if data is None:
            errors = doc.get("errors") or []
            msg = next((e.get("msg") for e in errors if isinstance(e, dict)), None)
            raise ConvertError(f"Jaeger answered an error: {msg or 'no data'}")
        doc = data
    if isinstance(doc, dict) and "spans" in doc:
        return [doc]
    if isinstance(doc, list) and all(isinstance(t, dict) and "spans" in t for t in doc):
        return doc
    raise ConvertError("expected Jaeger JSON ({\"data\": [traces]})")


def jaeger_spans(trace: dict) -> list[dict]:
    """One Jaeger trace (`traceID`, `spans`, `processes`) as Zipkin v2 span dicts."""
    processes = trace.get("processes") or {}
    out = []
    for span in trace.get("spans") or ():
        if isinstance(span, dict):
            converted = _jaeger_span(span, processes)
            if converted is not None:
                out.append(converted)
    return out


def _jaeger_parent(span: dict, trace_id: str) -> str | None:
    """jaeger-ui's rule: the first CHILD_OF of the same trace, else FOLLOWS_FROM, else the
    deprecated `parentSpanID` field."""
    refs = [r for r in span.get("references") or () if isinstance(r, dict)
            and normalize_trace_id(r.get("traceID")) == trace_id]
    for wanted in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            if str(ref.get("refType", "")).upper() == wanted:
                return normalize_span_id(ref.get("spanID"))
    return normalize_span_id(span.get("parentSpanID"))


def _jaeger_span(span: dict, processes: dict) -> dict | None:
    trace_id = normalize_trace_id(span.get("traceID"))
    span_id = normalize_span_id(span.get("spanID"))
    if trace_id is None or span_id is None:
        return None
    process = span.get("process") or processes.get(span.get("processID")) or {}
    tags = {}
    for kv in span.get("tags") or ():
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            value = kv.get("value")
            tags[kv["key"]] = _text(value) if value is not None else ""
    kind = kind_name(tags.pop("span.kind", None))
    error = tags.pop("error", None)
    status = status_name(tags.get("otel.status_code"))
    if status:
        tags["otel.status_code"] = status
    if status == "ERROR" or error is not None:  # an error tag counts by its presence
        tags["error"] = tags.get("otel.status_description", "") if status == "ERROR" \
            else error
    out: dict[str, Any] = {"traceId": trace_id, "id": span_id}
    parent = _jaeger_parent(span, trace_id)
    if parent and parent != span_id:
        out["parentId"] = parent
    if kind:
        out["kind"] = kind
    out["name"] = str(span.get("operationName") or "").lower()
    start, duration = _int(span.get("startTime")), _int(span.get("duration"))
    if start > 0:
        out["timestamp"] = start
    if duration > 0:
        out["duration"] = duration
    out["localEndpoint"] = {"serviceName": str(process.get("serviceName") or
                                               "unknown_service").lower()}
    remote = _remote(kind, tags)
    if remote:
        out["remoteEndpoint"] = remote
    out["tags"] = tags
    logs = []
    for log in span.get("logs") or ():
        if isinstance(log, dict):
            fields = {f.get("key"): f.get("value") for f in log.get("fields") or ()
                      if isinstance(f, dict)}
            name = fields.get("event") or fields.get("message")
            if name:
                logs.append({"timestamp": _int(log.get("timestamp")), "value": str(name)})
    if logs:
        out["annotations"] = logs
    return out


# ---------------------------------------------------------------- grouping


def group_traces(spans: Iterable[dict]) -> list[list[dict]]:
    """Zipkin spans grouped into traces by `traceId`, in order of first appearance (the
    Zipkin API's `/traces` shape)."""
    traces: dict[str, list[dict]] = {}
    for span in spans:
        traces.setdefault(span["traceId"], []).append(span)
    return list(traces.values())
