"""Tracing of one service process: span tree, propagation, exporters, switches, dead collector."""

from __future__ import annotations

import json
import statistics
import time

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.services.common.conftest import free_port

SERVER = "GET /api/v1/items/{item_id}"


def _read_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _one(spans: list[dict], **match) -> dict:
    found = [s for s in spans if all(s.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one span with {match}, got {found}"
    return found[0]


def _consumer_done(spans: list[dict]) -> bool:
    return any(s.get("kind") == "CONSUMER" for s in spans) and any(
        s["name"] == SERVER for s in spans
    )


def test_one_request_is_one_trace_across_http_sql_and_broker(sink, demo_service):
    demo = demo_service(ZIPKIN_URL=sink.url, OTEL_TRACES_EXPORTER="zipkin")
    response = httpx.get(f"{demo.url}/api/v1/items/7")
    assert response.status_code == 200, response.text

    spans = sink.wait_for(_consumer_done)
    server = _one(spans, name=SERVER)
    trace_id = server["traceId"]
    spans = [s for s in sink.spans(trace_id)]
    assert "parentId" not in server
    assert {s["localEndpoint"]["serviceName"] for s in spans} == {"order"}

    db = [s for s in spans if s.get("tags", {}).get("db.system") == "postgresql"]
    assert db and all(s["parentId"] == server["id"] and s["kind"] == "CLIENT" for s in db)
    client = _one(spans, kind="CLIENT", name="GET")
    assert client["parentId"] == server["id"]
    assert client["tags"]["peer.service"] == "echo"
    peer_server = _one(spans, name="GET /api/v1/echo")
    assert peer_server["parentId"] == client["id"]
    publish = _one(spans, kind="PRODUCER")
    assert publish["parentId"] == server["id"]
    consumer = _one(spans, kind="CONSUMER")
    assert consumer["parentId"] == publish["id"]

    # every log line inside a span carries that span's ids
    lines = [line for line in _read_log(demo.log_path) if line.get("trace_id") == trace_id]
    by_event = {line["event"]: line for line in lines}
    assert by_event["reading item"]["span_id"] == server["id"]
    assert by_event["reading item"]["email"] == "***@example.com"
    assert by_event["echo"]["span_id"] == peer_server["id"]
    assert by_event["order message consumed"]["span_id"] == consumer["id"]
    access = [x for x in lines if x["logger"] == "uvicorn.access"]
    assert {x["span_id"] for x in access} == {server["id"], peer_server["id"]}
    assert response.headers.get("x-trace-id", trace_id) == trace_id


def test_incoming_b3_and_w3c_context_is_continued(sink, demo_service):
    demo = demo_service(ZIPKIN_URL=sink.url)
    b3_trace, w3c_trace = "a" * 32, "b" * 32
    httpx.get(f"{demo.url}/api/v1/echo?q=1", headers={
        "X-B3-TraceId": b3_trace, "X-B3-SpanId": "1" * 16, "X-B3-Sampled": "1"})
    httpx.get(f"{demo.url}/api/v1/echo?q=2", headers={
        "traceparent": f"00-{w3c_trace}-{'2' * 16}-01"})
    spans = sink.wait_for(lambda s: len(s) >= 2)
    assert _one(spans, traceId=b3_trace)["parentId"] == "1" * 16
    assert _one(spans, traceId=w3c_trace)["parentId"] == "2" * 16


def test_otlp_exporter_posts_protobuf(sink, demo_service):
    demo = demo_service(ZIPKIN_URL=sink.url, OTEL_TRACES_EXPORTER="otlp")
    httpx.get(f"{demo.url}/api/v1/echo?q=1")
    deadline = time.monotonic() + 10
    while not sink.otlp and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.otlp, "no OTLP export arrived"
    content_type, body = sink.otlp[0]
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    names = [span.name for rs in request.resource_spans for ss in rs.scope_spans
             for span in ss.spans]
    assert "GET /api/v1/echo" in names
    service = {a.key: a.value.string_value
               for a in request.resource_spans[0].resource.attributes}["service.name"]
    assert service == "order"


def test_sdk_disabled_exports_nothing_and_logs_carry_no_ids(sink, demo_service):
    demo = demo_service(ZIPKIN_URL=sink.url, OTEL_SDK_DISABLED="true")
    assert httpx.get(f"{demo.url}/api/v1/items/3").status_code == 200
    time.sleep(1.0)  # more than the batch delay: spans would have arrived by now
    assert sink.spans() == [] and sink.otlp == []
    lines = _read_log(demo.log_path)
    assert any(x["event"] == "reading item" for x in lines)
    assert not any("trace_id" in x for x in lines)
    assert 'route="/api/v1/items/{item_id}"' in httpx.get(f"{demo.url}/metrics").text


def _median_latency(url: str, n: int) -> float:
    times = []
    with httpx.Client() as client:
        for i in range(n):
            start = time.perf_counter()
            assert client.get(f"{url}/api/v1/items/{i}").status_code == 200
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_dead_or_slow_collector_never_slows_requests(sink, demo_service):
    sink.delay = 5.0  # longer than the export timeout: the exporter gives up, requests go on
    slow = demo_service(ZIPKIN_URL=sink.url)
    dead = demo_service(ZIPKIN_URL=f"http://127.0.0.1:{free_port()}")
    _median_latency(slow.url, 5), _median_latency(dead.url, 5)  # warm up
    slow_median = _median_latency(slow.url, 30)
    dead_median = _median_latency(dead.url, 30)
    # 30 requests with a 0.2 s batch delay: several exports hung on the slow sink meanwhile
    assert max(slow_median, dead_median) < 0.25, (slow_median, dead_median)
    lines = _read_log(dead.log_path)
    assert sum(x["event"] == "reading item" for x in lines) == 35
