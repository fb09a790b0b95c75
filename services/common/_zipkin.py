"""A Zipkin v2 JSON span exporter that costs a few µs a span.

OpenTelemetry's Zipkin JSON exporter (deprecated upstream) spends about 32 µs a span, in the
service's own process, building tags one by one and copying the resource and scope into every
span (eight tags that Zipkin already has as `localEndpoint` or that nobody queries). This one
writes the same Zipkin v2 model with orjson: attributes become string tags as upstream writes
them, span events become annotations, the status becomes `otel.status_code` and `error`, and a
client or producer span's `peer.service` also becomes its `remoteEndpoint`, which Zipkin's
dependency graph reads. The resource gives only `localEndpoint.serviceName`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

log = logging.getLogger(__name__)

_KINDS = {SpanKind.SERVER: "SERVER", SpanKind.CLIENT: "CLIENT", SpanKind.PRODUCER: "PRODUCER",
          SpanKind.CONSUMER: "CONSUMER"}
_REMOTE_KINDS = (SpanKind.CLIENT, SpanKind.PRODUCER)


def _tag_value(value: Any) -> str:
    """An attribute as upstream writes it: `true`/`false`, numbers as text, a sequence as a
    JSON array of such strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps([None if v is None else _tag_value(v) for v in value]).decode()


def _us(ns: int) -> int:
    return (ns + 500) // 1000


def to_zipkin(span: ReadableSpan, service: str) -> dict[str, Any]:
    """One finished span in the Zipkin v2 model."""
    ctx = span.context
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    out: dict[str, Any] = {
        "traceId": f"{ctx.trace_id:032x}",
        "id": f"{ctx.span_id:016x}",
        "name": span.name,
        "timestamp": _us(start),
        "duration": max(1, _us(end - start)),
        "localEndpoint": {"serviceName": service},
    }
    if span.parent is not None:
        out["parentId"] = f"{span.parent.span_id:016x}"
    kind = _KINDS.get(span.kind)
    if kind:
        out["kind"] = kind
    attributes = span.attributes or {}
    tags = {key: _tag_value(value) for key, value in attributes.items()}
    if span.instrumentation_scope is not None:
        tags["otel.scope.name"] = span.instrumentation_scope.name
    status = span.status.status_code
    if status is not StatusCode.UNSET:
        tags["otel.status_code"] = status.name
        if status is StatusCode.ERROR:
            tags["error"] = span.status.description or ""
    out["tags"] = tags
    peer = attributes.get("peer.service")
    if peer and span.kind in _REMOTE_KINDS:
        out["remoteEndpoint"] = {"serviceName": str(peer)}
    if span.events:
        out["annotations"] = [
            {"timestamp": _us(event.timestamp),
             "value": orjson.dumps({event.name: dict(event.attributes or {})},
                                   default=str).decode()}
            for event in span.events
        ]
    return out


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """A JSON list of Zipkin v2 spans, the body of `POST /api/v2/spans`."""
    return orjson.dumps([
        to_zipkin(span, str(span.resource.attributes.get(SERVICE_NAME, "unknown_service")))
        for span in spans
    ])


class ZipkinJsonExporter(SpanExporter):
    """Posts batches to a Zipkin v2 `/api/v2/spans`; a failed post is one log line, not raised."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.endpoint = endpoint
        self._client = httpx.Client(timeout=timeout,
                                    headers={"Content-Type": "application/json"})

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            response = self._client.post(self.endpoint, content=encode(spans))
        except httpx.HTTPError as exc:
            log.warning("%d span(s) not exported: %s: %s", len(spans), self.endpoint,
                        exc.__class__.__name__)
            return SpanExportResult.FAILURE
        if response.status_code >= 300:
            log.warning("%d span(s) not exported: %s answered %d %s", len(spans),
                        self.endpoint, response.status_code, response.text[:200])
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._client.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
