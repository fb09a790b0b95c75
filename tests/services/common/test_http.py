"""Client spans of `make_client` against a real HTTP server (the local collector)."""

from __future__ import annotations

import asyncio

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.common.http import make_client
from tests.fixtures.collector import free_port


def _call(base_url: str, path: str) -> tuple[object, list, object]:
    """GET `path` inside a request span; (the response or the exception, client spans, request)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    async def main():
        async with make_client("zipkin", base_url, timeout=2.0, tracer=tracer) as client:
            with tracer.start_as_current_span("request", kind=SpanKind.SERVER) as request:
                try:
                    return await client.get(path), request
                except httpx.HTTPError as exc:
                    return exc, request

    outcome, request = asyncio.run(main())
    spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    return outcome, spans, request


def test_a_call_is_a_client_span_of_the_request_and_its_context_goes_out(collector):
    response, (span,), request = _call(collector, "/api/v2/services")
    assert response.status_code == 200
    assert span.name == "GET" and span.parent.span_id == request.context.span_id
    assert span.context.trace_id == request.context.trace_id
    assert span.attributes["peer.service"] == "zipkin"
    assert span.attributes["url.full"] == f"{collector}/api/v2/services"
    assert span.attributes["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET
    # the peer continues the client span, not the request span, though it was never current
    _, trace_id, parent_id, _ = response.request.headers["traceparent"].split("-")
    assert trace_id == f"{span.context.trace_id:032x}"
    assert parent_id == f"{span.context.span_id:016x}"


def test_an_error_answer_is_an_error_span(collector):
    response, (span,), _ = _call(collector, "/api/v2/nowhere")
    assert response.status_code == 404
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "404"


def test_an_unreachable_peer_is_an_error_span_and_the_error_is_raised():
    error, (span,), _ = _call(f"http://127.0.0.1:{free_port()}", "/api/v2/services")
    assert isinstance(error, httpx.ConnectError)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description.startswith("ConnectError")
    assert span.attributes["error.type"] == "ConnectError"
    assert "http.response.status_code" not in span.attributes
