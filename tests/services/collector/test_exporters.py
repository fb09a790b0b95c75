"""Real Zipkin clients (OTel's Zipkin JSON exporter, py_zipkin) against the running collector."""

from __future__ import annotations

import json

import httpx
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from py_zipkin import Kind
from py_zipkin.encoding import Encoding
from py_zipkin.transport import BaseTransportHandler
from py_zipkin.zipkin import zipkin_span

from tests.services.collector._recording import RecordingSession


def by_id(spans: list[dict]) -> dict[str, dict]:
    return {span["id"]: span for span in spans}


def test_otel_zipkin_exporter_spans_come_back_unchanged(collector: str) -> None:
    session = RecordingSession()
    exporter = ZipkinExporter(endpoint=f"{collector}/api/v2/spans", session=session)
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.collector", "1.0")
    with tracer.start_as_current_span("post /orders", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.status_code", 201)
        root.set_attribute("retry", True)
        with tracer.start_as_current_span("reserve stock") as child:  # INTERNAL: "kind": null
            child.add_event("reserved", {"sku": "A-1", "count": 2})
        with tracer.start_as_current_span("get /payments", kind=SpanKind.CLIENT) as call:
            call.set_status(Status(StatusCode.ERROR, "payment declined"))
    provider.shutdown()

    sent = [span for body in session.bodies for span in json.loads(body)]
    assert len(sent) == 3
    assert any(span["kind"] is None for span in sent)  # the exporter's quirk is exercised
    trace_id = sent[0]["traceId"]
    got = httpx.get(f"{collector}/api/v2/trace/{trace_id}").json()
    # Zipkin omits null fields; everything else comes back exactly as sent
    expected = [{k: v for k, v in span.items() if v is not None} for span in sent]
    assert by_id(got) == by_id(expected)
    call_span = next(span for span in got if span["name"] == "get /payments")
    assert call_span["tags"]["error"] == "payment declined"


class CollectorTransport(BaseTransportHandler):
    def __init__(self, url: str) -> None:
        self.url = url
        self.payloads: list[bytes] = []

    def get_max_payload_bytes(self):
        return None

    def send(self, payload: bytes) -> None:
        self.payloads.append(payload)
        response = httpx.post(
            f"{self.url}/api/v2/spans",
            content=payload,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 202, response.text


def test_py_zipkin_spans_come_back_unchanged(collector: str) -> None:
    transport = CollectorTransport(collector)
    with zipkin_span(
        service_name="shop",
        span_name="place-order",
        transport_handler=transport,
        sample_rate=100.0,
        encoding=Encoding.V2_JSON,
    ) as root:
        root.update_binary_annotations({"order.id": "42"})
        root.add_annotation("validated")
        with zipkin_span(service_name="shop", span_name="charge", kind=Kind.CLIENT) as child:
            child.add_sa_binary_annotation(port=8060, service_name="payment", host="127.0.0.1")
    sent = [span for payload in transport.payloads for span in json.loads(payload)]
    assert len(sent) == 2
    got = httpx.get(f"{collector}/api/v2/trace/{sent[0]['traceId']}").json()
    assert by_id(got) == by_id(sent)
    assert httpx.get(f"{collector}/api/v2/remoteServices?serviceName=shop").json() == ["payment"]


def test_otel_exporter_sees_a_refused_batch_as_a_failure(collector: str) -> None:
    exporter = ZipkinExporter(endpoint=f"{collector}/api/v2/spans")
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    tracer = provider.get_tracer("tests.collector", "1.0")
    with tracer.start_as_current_span("ok") as span:
        pass
    assert exporter.export([span]) is SpanExportResult.SUCCESS
    exporter.session.headers["Content-Type"] = "application/x-protobuf"  # a lie: JSON body
    assert exporter.export([span]) is SpanExportResult.FAILURE
