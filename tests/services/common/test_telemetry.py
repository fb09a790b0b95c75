"""Tracing of one service process: span tree, propagation, exporters, switches, dead collector.

Spans go to the real local collector (`collector` fixture) and are read back through its
Zipkin API; only the slow collector is the span sink, since a real one cannot be made slow.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time

import httpx
from opentelemetry import trace

from services.common.telemetry import propagator
from tests.fixtures.collector import free_port, wait_for_trace

SERVER = "get /api/v1/items/{item_id}"  # Zipkin lowercases span names


def _read_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _one(spans: list[dict], **match) -> dict:
    found = [s for s in spans if all(s.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one span with {match}, got {found}"
    return found[0]


def _traceparent() -> tuple[str, str, str]:
    """A fresh W3C `traceparent` header, its trace id and parent span id."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def test_one_request_is_one_trace_across_http_sql_and_broker(collector, demo_service):
    demo = demo_service(ZIPKIN_URL=collector, OTEL_TRACES_EXPORTER="zipkin")
    traceparent, trace_id, caller_id = _traceparent()
    response = httpx.get(f"{demo.url}/api/v1/items/7", headers={"traceparent": traceparent})
    assert response.status_code == 200, response.text

    spans = wait_for_trace(collector, trace_id, lambda spans: any(
        s.get("kind") == "CONSUMER" for s in spans) and len(spans) >= 6)
    server = _one(spans, name=SERVER)
    assert server["parentId"] == caller_id  # the incoming W3C context was continued
    assert {s["localEndpoint"]["serviceName"] for s in spans} == {"order"}

    db = [s for s in spans if s.get("tags", {}).get("db.system") == "postgresql"]
    assert db and all(s["parentId"] == server["id"] and s["kind"] == "CLIENT" for s in db)
    client = _one(spans, kind="CLIENT", name="get")
    assert client["parentId"] == server["id"]
    assert client["tags"]["peer.service"] == "echo"
    peer_server = _one(spans, name="get /api/v1/echo")
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

    # a B3-only caller (Zipkin-instrumented) is continued as well
    b3_trace, b3_parent = secrets.token_hex(16), secrets.token_hex(8)
    httpx.get(f"{demo.url}/api/v1/echo?q=1", headers={
        "X-B3-TraceId": b3_trace, "X-B3-SpanId": b3_parent, "X-B3-Sampled": "1"})
    (span,) = wait_for_trace(collector, b3_trace, lambda spans: len(spans) >= 1)
    assert span["parentId"] == b3_parent and span["name"] == "get /api/v1/echo"


def test_otlp_exporter_reaches_the_collector(collector, demo_service):
    demo = demo_service(ZIPKIN_URL=collector, OTEL_TRACES_EXPORTER="otlp")
    traceparent, trace_id, caller_id = _traceparent()
    httpx.get(f"{demo.url}/api/v1/echo?q=1", headers={"traceparent": traceparent})
    (span,) = wait_for_trace(collector, trace_id, lambda spans: len(spans) >= 1)
    assert span["name"] == "get /api/v1/echo" and span["parentId"] == caller_id
    assert span["localEndpoint"]["serviceName"] == "order"


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
    _median_latency(slow.url, 3), _median_latency(dead.url, 3)  # warm up
    slow_median = _median_latency(slow.url, 20)
    dead_median = _median_latency(dead.url, 20)
    # 20 requests with a 0.2 s batch delay: several exports hung on the slow sink meanwhile
    assert max(slow_median, dead_median) < 0.25, (slow_median, dead_median)
    lines = _read_log(dead.log_path)
    assert sum(x["event"] == "reading item" for x in lines) == 23


def test_sampler_follows_the_parent_and_drops_client_roots():
    from opentelemetry import trace
    from opentelemetry.sdk.trace.sampling import Decision
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

    from services.common.telemetry import ShopSampler

    sampler, tid = ShopSampler(), int(secrets.token_hex(16), 16)

    def decide(kind, flags=None, state=None):
        parent = None
        if flags is not None:
            span = NonRecordingSpan(SpanContext(tid, 7, is_remote=True,
                                                trace_flags=TraceFlags(flags), trace_state=state))
            parent = trace.set_span_in_context(span)
        return sampler.should_sample(parent, tid, "x", kind, {"a": 1})

    assert decide(SpanKind.SERVER).decision is Decision.RECORD_AND_SAMPLE
    assert decide(SpanKind.INTERNAL).attributes == {"a": 1}
    assert decide(SpanKind.CLIENT).decision is Decision.DROP  # a DB ping outside any request
    state = TraceState([("vendor", "x")])
    child = decide(SpanKind.CLIENT, flags=TraceFlags.SAMPLED, state=state)
    assert child.decision is Decision.RECORD_AND_SAMPLE and child.trace_state == state
    assert decide(SpanKind.SERVER, flags=TraceFlags.DEFAULT).decision is Decision.DROP


def test_extraction_takes_the_first_format_found_and_injection_writes_all():
    shop = propagator()
    w3c_trace, w3c_parent = secrets.token_hex(16), secrets.token_hex(8)
    b3_trace, b3_parent = secrets.token_hex(16), secrets.token_hex(8)
    b3 = {"x-b3-traceid": b3_trace, "x-b3-spanid": b3_parent, "x-b3-sampled": "1"}

    def parent(carrier: dict[str, str]) -> tuple[str, str] | None:
        found = trace.get_current_span(shop.extract(carrier)).get_span_context()
        return (f"{found.trace_id:032x}", f"{found.span_id:016x}") if found.is_valid else None

    assert parent({"traceparent": f"00-{w3c_trace}-{w3c_parent}-01", **b3}) == (w3c_trace,
                                                                               w3c_parent)
    assert parent({"traceparent": "00-not-a-valid-header", **b3}) == (b3_trace, b3_parent)
    assert parent(b3) == (b3_trace, b3_parent)
    assert parent({"tracestate": "x=1"}) is None

    headers: dict[str, str] = {}
    context = shop.extract({"traceparent": f"00-{w3c_trace}-{w3c_parent}-01"})
    shop.inject(headers, context)
    assert headers["traceparent"].split("-")[1:3] == [w3c_trace, w3c_parent]
    assert (headers["x-b3-traceid"], headers["x-b3-spanid"]) == (w3c_trace, w3c_parent)
