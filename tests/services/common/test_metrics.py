"""Request metrics by route template, `/metrics` in Prometheus text, outbound calls by peer."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from services.common import metrics
from services.common.http import make_client
from tests.fixtures.collector import free_port


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
