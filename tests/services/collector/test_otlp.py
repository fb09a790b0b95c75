"""OTLP/HTTP traces (`POST /v1/traces`) stored as the spans the Zipkin exporter would send."""

from __future__ import annotations

import json

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.services.collector._recording import RecordingSession


def test_otlp_protobuf_stores_what_the_zipkin_exporter_would(collector: str) -> None:
    zipkin_session = RecordingSession()
    provider = TracerProvider(resource=Resource.create({"service.name": "inventory"}))
    provider.add_span_processor(
        SimpleSpanProcessor(
            ZipkinExporter(endpoint=f"{collector}/api/v2/spans", session=zipkin_session)
        )
    )
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector}/v1/traces"))
    )
    tracer = provider.get_tracer("tests.otlp", "2.1")
    with tracer.start_as_current_span("consume order", kind=SpanKind.CONSUMER) as root:
        root.set_attribute("messaging.system", "rabbitmq")
        root.set_attribute("attempt", 2)
        root.set_attribute("ratio", 0.5)
        root.set_attribute("skus", ["a", "b"])
        with tracer.start_as_current_span("reserve") as child:
            child.add_event("reserved", {"count": 3})
            child.set_status(Status(StatusCode.ERROR, "out of stock"))
    provider.shutdown()

    sent = [span for body in zipkin_session.bodies for span in json.loads(body)]
    got = httpx.get(f"{collector}/api/v2/trace/{sent[0]['traceId']}").json()
    # both exporters sent both spans; identical spans are stored once, so 2 means "the same"
    assert len(got) == 2
    expected = [{k: v for k, v in span.items() if v is not None} for span in sent]
    assert sorted(got, key=lambda s: s["id"]) == sorted(expected, key=lambda s: s["id"])


def test_otlp_json_with_hex_ids(collector: str) -> None:
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "Web"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "browser"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "POST /api/v1/orders",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000400",
                                "attributes": [
                                    {"key": "peer.service", "value": {"stringValue": "gateway"}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                ],
                                "status": {"code": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = httpx.post(f"{collector}/v1/traces", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert httpx.get(f"{collector}/api/v2/trace/{trace_id}").json() == [
        {
            "traceId": trace_id,
            "id": span_id,
            "kind": "CLIENT",
            "name": "post /api/v1/orders",
            "timestamp": 1_700_000_000_000_000,
            "duration": 250_000,
            "localEndpoint": {"serviceName": "web"},
            "remoteEndpoint": {"serviceName": "gateway"},
            "tags": {
                "ok": "true",
                "otel.library.name": "browser",
                "otel.library.version": "",
                "otel.scope.name": "browser",
                "otel.scope.version": "",
                "otel.status_code": "OK",
                "peer.service": "gateway",
                "service.name": "Web",
            },
            "debug": True,
        }
    ]
    assert "gateway" in httpx.get(f"{collector}/api/v2/remoteServices?serviceName=web").json()


def test_malformed_otlp_is_400_and_stores_nothing(collector: str) -> None:
    bad_json = httpx.post(
        f"{collector}/v1/traces",
        content=b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    bad_proto = httpx.post(
        f"{collector}/v1/traces",
        content=b"\x0a\xff\xff",
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert bad_proto.status_code == 400


def test_otlp_exporter_reports_success(collector: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "x"}))
    tracer = provider.get_tracer("t", "1")
    with tracer.start_as_current_span("s") as span:
        pass
    assert OTLPSpanExporter(endpoint=f"{collector}/v1/traces").export([span]) is (
        SpanExportResult.SUCCESS
    )
