"""The services' Zipkin JSON exporter against OpenTelemetry's own Zipkin encoder and a collector."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.common._zipkin import ZipkinJsonExporter, encode
from tests.fixtures.collector import free_port, wait_for_trace

# Tags upstream copies into every span that this exporter leaves out, besides the resource
# (already `localEndpoint.serviceName`): the scope's version and legacy names.
DROPPED_SCOPE_TAGS = {"otel.library.name", "otel.library.version", "otel.scope.version"}


def _spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "order"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.zipkin", "1.0")
    with tracer.start_as_current_span("POST /api/v1/orders", kind=SpanKind.SERVER) as root:
        root.set_attributes({"http.response.status_code": 201, "retry": True, "ratio": 0.25,
                             "ids": [1, 2], "flags": [True, False], "names": ["a", "b"]})
        with tracer.start_as_current_span("reserve stock") as child:  # INTERNAL: no kind
            child.add_event("reserved", {"sku": "A-1", "count": 2})
        with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as call:
            call.set_attribute("peer.service", "payment")
            call.set_status(Status(StatusCode.ERROR, "payment declined"))
        with tracer.start_as_current_span("order.confirmed publish",
                                          kind=SpanKind.PRODUCER) as publish:
            publish.set_attribute("peer.service", "rabbitmq")
        with tracer.start_as_current_span("SELECT shop", kind=SpanKind.CLIENT) as db:
            db.set_status(Status(StatusCode.OK))
    return list(memory.get_finished_spans())


def test_spans_are_upstreams_model_without_the_copied_resource_and_with_remote_endpoints():
    spans = _spans()
    ours = {s["id"]: s for s in json.loads(encode(spans))}
    upstream = {s["id"]: s for s in json.loads(JsonV2Encoder().serialize(spans, NodeEndpoint()))}
    assert ours.keys() == upstream.keys() and len(ours) == 5
    dropped = DROPPED_SCOPE_TAGS | set(spans[0].resource.attributes)
    for span_id, theirs in upstream.items():
        # upstream marks every sampled span `debug` (Zipkin: "bypass sampling"); that is wrong
        expected = {k: v for k, v in theirs.items() if v is not None and k != "debug"}
        expected["localEndpoint"] = {"serviceName": "order"}
        expected["tags"] = {k: v for k, v in theirs["tags"].items() if k not in dropped}
        for annotation in expected.get("annotations", []):  # same JSON, other spacing
            annotation["value"] = json.loads(annotation["value"])
        for annotation in ours[span_id].get("annotations", []):
            annotation["value"] = json.loads(annotation["value"])
        peer = theirs["tags"].get("peer.service")
        if peer and theirs["kind"] in ("CLIENT", "PRODUCER"):
            expected["remoteEndpoint"] = {"serviceName": peer}
        assert ours[span_id] == expected
    by_name = {s["name"]: s for s in ours.values()}
    assert by_name["GET"]["tags"]["error"] == "payment declined"
    assert by_name["GET"]["remoteEndpoint"] == {"serviceName": "payment"}
    assert by_name["POST /api/v1/orders"]["tags"]["ids"] == '["1","2"]'
    assert by_name["POST /api/v1/orders"]["tags"]["flags"] == '["true","false"]'
    assert "kind" not in by_name["reserve stock"]
    assert by_name["reserve stock"]["annotations"][0]["value"] == {
        "reserved": {"sku": "A-1", "count": 2}}


def test_exported_spans_come_back_from_the_collector(collector):
    spans = _spans()
    exporter = ZipkinJsonExporter(f"{collector}/api/v2/spans", timeout=2.0)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    trace_id = f"{spans[0].context.trace_id:032x}"
    got = wait_for_trace(collector, trace_id, lambda found: len(found) == 5)
    sent = {s["id"]: s for s in json.loads(encode(spans))}
    for span in got:  # the collector lowercases names, as Zipkin does
        assert span == {**sent[span["id"]], "name": sent[span["id"]]["name"].lower()}
    deps = httpx.get(f"{collector}/api/v2/dependencies",
                     params={"endTs": int(time.time() * 1000) + 1000, "lookback": 60_000}).json()
    assert {"parent": "order", "child": "payment", "callCount": 1, "errorCount": 1} in deps


@pytest.mark.parametrize("status", ["down", "rejects"])
def test_a_failed_export_is_one_log_line_and_a_failure(status, collector, caplog):
    url = (f"http://127.0.0.1:{free_port()}/api/v2/spans" if status == "down"
           else f"{collector}/api/v2/nowhere")
    exporter = ZipkinJsonExporter(url, timeout=2.0)
    with caplog.at_level(logging.WARNING, logger="services.common._zipkin"):
        assert exporter.export(_spans()) is SpanExportResult.FAILURE
    exporter.shutdown()
    (record,) = caplog.records
    assert record.getMessage().startswith(f"5 span(s) not exported: {url}")
