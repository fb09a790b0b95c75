"""OTLP/HTTP traces (`POST /v1/traces`, protobuf or JSON) converted to Zipkin v2 spans.

The mapping is the one of OpenTelemetry's Zipkin exporter (opentelemetry-exporter-zipkin-json),
so a service exporting OTLP stores the same spans as one exporting Zipkin JSON: kind INTERNAL is
absent, times rounded to µs, attributes and resource attributes become tags, the scope becomes
`otel.scope.*`/`otel.library.*` tags, an ERROR status becomes `otel.status_code` and `error`,
events become annotations `{"<name>": {attributes}}`. As the OTel spec asks, `peer.service`
(else `server.address`) of a CLIENT or PRODUCER span becomes the remote endpoint's service.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.responses import Response

from services.collector.limits import check_batch
from services.collector.spans import SpanError, normalise_all

_KINDS = {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {1: "OK", 2: "ERROR"}
_REMOTE_KEYS = ("peer.service", "server.address", "net.peer.name")
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def decode_proto(body: bytes, max_spans: int | None = None) -> list[dict[str, Any]]:
    """OTLP protobuf; more than `max_spans` spans are refused (413) before conversion."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise SpanError(f"Malformed OTLP protobuf: {exc}") from None
    if max_spans is not None:
        check_batch(
            sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans), max_spans
        )
    return to_zipkin(request)


def decode_json(body: bytes, max_spans: int | None = None) -> list[dict[str, Any]]:
    """OTLP/JSON: like the protobuf JSON mapping, except ids are hex, not base64."""
    try:
        raw = orjson.loads(body or b"{}")
        count = 0
        for resource_spans in raw.get("resourceSpans") or []:
            for scope_spans in resource_spans.get("scopeSpans") or []:
                for span in scope_spans.get("spans") or []:
                    count += 1
                    _hex_ids_to_base64(span)
                    for link in span.get("links") or []:
                        _hex_ids_to_base64(link)
        if max_spans is not None:
            check_batch(count, max_spans)
        request = ExportTraceServiceRequest()
        json_format.ParseDict(raw, request, ignore_unknown_fields=True)
    except (orjson.JSONDecodeError, json_format.ParseError, AttributeError, TypeError) as exc:
        raise SpanError(f"Malformed OTLP JSON: {exc}") from None
    return to_zipkin(request)


def proto_response() -> Response:
    return Response(
        ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf"
    )


def json_response() -> Response:
    return Response(b"{}", media_type="application/json")


def to_zipkin(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """All spans of an OTLP export request as normalised Zipkin v2 spans (all or nothing)."""
    raw = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name") or "unknown_service"
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                raw.append(_span(span, service, resource, scope))
    return normalise_all(raw)


def _span(span: Any, service: str, resource: dict[str, str], scope: Any) -> dict[str, Any]:
    attributes = _attributes(span.attributes)
    kind = _KINDS.get(span.kind)
    out: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "id": span.span_id.hex(),
        "parentId": span.parent_span_id.hex() or None,
        "kind": kind,
        "name": span.name,
        "timestamp": _us(span.start_time_unix_nano),
        "duration": _us(span.end_time_unix_nano - span.start_time_unix_nano),
        "localEndpoint": {"serviceName": service},
    }
    if kind in ("CLIENT", "PRODUCER"):
        remote = next((attributes[k] for k in _REMOTE_KEYS if attributes.get(k)), None)
        if remote:
            out["remoteEndpoint"] = {"serviceName": remote}
    tags = {**attributes, **resource}
    if scope.name:
        tags["otel.library.name"] = tags["otel.scope.name"] = scope.name
        tags["otel.library.version"] = tags["otel.scope.version"] = scope.version
    status = _STATUS.get(span.status.code)
    if status:
        tags["otel.status_code"] = status
        if status == "ERROR":
            tags["error"] = span.status.message
    for key, count in (
        ("otel.dropped_attributes_count", span.dropped_attributes_count),
        ("otel.dropped_events_count", span.dropped_events_count),
        ("otel.dropped_links_count", span.dropped_links_count),
    ):
        if count:
            tags[key] = str(count)
    out["tags"] = tags
    out["annotations"] = [
        {
            "timestamp": _us(event.time_unix_nano),
            "value": json.dumps(
                {event.name: {a.key: _plain(a.value) for a in event.attributes}}, sort_keys=True
            ),
        }
        for event in span.events
    ]
    out["debug"] = True  # as the OTel Zipkin exporter marks every (sampled, exported) span
    return out


def _us(nanos: int) -> int:
    return (nanos + 500) // 1000


def _attributes(attributes: Any) -> dict[str, str]:
    return {a.key: _tag_value(a.value) for a in attributes}


def _plain(value: Any) -> Any:
    """An AnyValue as a plain Python value."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which) if which else None


def _tag_value(value: Any) -> str:
    """Tag text as the Zipkin exporter writes it: booleans lower-case, lists as JSON of text."""
    plain = _plain(value)
    if isinstance(plain, list):
        return json.dumps([_text(v) for v in plain], separators=(",", ":"))
    if isinstance(plain, dict):
        return json.dumps(plain, separators=(",", ":"))
    return _text(plain) or ""


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    return None if value is None else str(value)


def _hex_ids_to_base64(item: dict[str, Any]) -> None:
    for key in _ID_FIELDS:
        value = item.get(key)
        if isinstance(value, str) and value:
            try:
                item[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise SpanError(f"{key} should be hex: {value!r}") from None
