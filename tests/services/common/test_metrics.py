"""Request metrics by route template, `/metrics` in Prometheus text, outbound calls by peer,
trace ids as exemplars in the OpenMetrics format."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from services.common import metrics
from services.common.http import make_client
from tests.fixtures.collector import free_port

# what Prometheus 2.42 sends when it scrapes
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def samples(text: str, name: str, **labels: str) -> list:
    """Samples named `name` whose labels include `labels`."""
    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name and labels.items() <= s.labels.items()]


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/widgets/{widget_id}")
    async def widget(widget_id: int) -> dict:
        if widget_id == 0:
            raise RuntimeError("boom")
        return {"id": widget_id}

    metrics.instrument_app(app, "widgets")
    return app


async def _get(app: FastAPI, *paths: str) -> str:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in paths:
            await client.get(path)
        response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_counted_by_route_template_method_and_status(app):
    text = asyncio.run(_get(app, "/api/v1/widgets/1", "/api/v1/widgets/2", "/api/v1/widgets/x",
                            "/api/v1/widgets/0", "/nowhere"))
    count = "http_server_requests_seconds_count"
    route = "/api/v1/widgets/{widget_id}"
    by = {"service": "widgets", "method": "GET", "route": route}
    assert [s.value for s in samples(text, count, **by, status="200")] == [2.0]
    assert [s.value for s in samples(text, count, **by, status="422")] == [1.0]
    assert [s.value for s in samples(text, count, **by, status="500")] == [1.0]
    assert [s.value for s in samples(text, count, route="<unmatched>", status="404")] == [1.0]
    assert not samples(text, count, route="/metrics")
    assert samples(text, "process_resident_memory_bytes")
    assert samples(text, "process_cpu_seconds_total")


def test_outbound_calls_timed_by_peer_and_status(sink):
    metrics.bind_service("caller")
    dead = f"http://127.0.0.1:{free_port()}"

    async def calls() -> None:
        async with make_client("collector", sink.url, 2.0) as client:
            assert (await client.post("/api/v2/spans", content=b"[]")).status_code == 202
        async with make_client("ghost", dead, 2.0) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")

    asyncio.run(calls())
    text = metrics.metrics_response().body.decode()
    name = "http_client_requests_seconds_count"
    assert samples(text, name, service="caller", peer="collector", method="POST", status="202")
    assert samples(text, name, service="caller", peer="ghost", method="GET", status="error")


def _exemplar_traces(text: str, name: str, **labels: str) -> set[str]:
    """Trace ids in the exemplars of the OpenMetrics samples named `name` with `labels`."""
    return {
        s.exemplar.labels["trace_id"]
        for family in openmetrics_parser.text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items() and s.exemplar
    }


def test_openmetrics_scrape_links_latency_buckets_to_the_request_trace(sink, demo_service):
    demo = demo_service(ZIPKIN_URL=sink.url)

    def get_item(flags: str) -> str:
        trace_id = secrets.token_hex(16)
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
        response = httpx.get(f"{demo.url}/api/v1/items/7", headers={"traceparent": traceparent})
        assert response.status_code == 200, response.text
        return trace_id

    def scrape() -> str:
        response = httpx.get(f"{demo.url}/metrics", headers={"accept": PROMETHEUS_ACCEPT})
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        return response.text

    sampled = get_item("01")
    text = scrape()
    assert f'# {{trace_id="{sampled}"}}' in text
    server = "http_server_requests_seconds_bucket"
    assert _exemplar_traces(text, server, route="/api/v1/items/{item_id}") == {sampled}
    # the self-call through make_client: the outbound histogram and the callee's route
    assert _exemplar_traces(text, "http_client_requests_seconds_bucket", peer="echo") == {sampled}
    assert _exemplar_traces(text, server, route="/api/v1/echo") == {sampled}

    unsampled = get_item("00")
    text = scrape()
    assert unsampled not in text  # no exemplar without a sampled span
    assert _exemplar_traces(text, server, route="/api/v1/items/{item_id}") == {sampled}

    plain = httpx.get(f"{demo.url}/metrics")
    assert plain.headers["content-type"].startswith("text/plain")
    assert "# {" not in plain.text
    counts = samples(plain.text, "http_server_requests_seconds_count",
                     route="/api/v1/items/{item_id}", status="200")
    assert [c.value for c in counts] == [2.0]
