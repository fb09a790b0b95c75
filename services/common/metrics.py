"""Prometheus metrics of the shop services: defined once here, imported everywhere.

All metrics live in prometheus-client's default registry, which also carries the default
process collector (`process_cpu_seconds_total`, `process_resident_memory_bytes`, ...).
Latency observations carry the trace id of the active sampled span as an exemplar, which only
the OpenMetrics format shows: `/metrics` serves it to scrapers that ask for it (Prometheus does).
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from opentelemetry import trace
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)

http_server_requests_seconds = Histogram(
    "http_server_requests_seconds",
    "Inbound HTTP requests by route template, method and status.",
    ["service", "method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
http_client_requests_seconds = Histogram(
    "http_client_requests_seconds",
    "Outbound HTTP requests by peer service, method and status (status 'error' = no response).",
    ["service", "peer", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
messages_published_total = Counter(
    "messages_published_total", "Messages published to the broker.", ["service", "routing_key"]
)
messages_consumed_total = Counter(
    "messages_consumed_total",
    "Messages consumed from the broker by outcome (ok|duplicate|retry|dead).",
    ["service", "queue", "outcome"],
)
queue_depth = Gauge("queue_depth", "Messages waiting in a broker queue.", ["queue"])
notifications_sent_total = Counter("notifications_sent_total", "Mails sent.", ["type"])
orders_placed_total = Counter("orders_placed_total", "Orders placed by final status.", ["status"])
circuit_breaker_state = Gauge(
    "circuit_breaker_state",
    "Circuit breaker state (0 closed, 1 open, 2 half-open).",
    ["service", "target"],
)
circuit_breaker_transitions_total = Counter(
    "circuit_breaker_transitions_total",
    "Circuit breaker state changes.",
    ["service", "target", "from_state", "to_state"],
)

UNMATCHED_ROUTE = "<unmatched>"
_service = "unknown"


def bind_service(name: str) -> None:
    """Name the service this process runs; used as the `service` label by helpers here."""
    global _service
    _service = name


def service_name() -> str:
    """The service name bound with `bind_service` ('unknown' before)."""
    return _service


def trace_exemplar() -> dict[str, str] | None:
    """`{"trace_id": <32 hex>}` of the active span when it is sampled, else None."""
    context = trace.get_current_span().get_span_context()
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    return {"trace_id": trace.format_trace_id(context.trace_id)}


def metrics_response(accept: str | None = None) -> Response:
    """The default registry in the format an `Accept` header asks for.

    OpenMetrics (with exemplars) when it names `application/openmetrics-text`, else the
    classic Prometheus text format.
    """
    encode, content_type = choose_encoder(accept or "")
    return Response(encode(REGISTRY), media_type=content_type)


def add_metrics_route(app: FastAPI, path: str = "/metrics") -> None:
    """Serve the default registry on `path` (not in the OpenAPI schema)."""

    async def metrics(request: Request) -> Response:
        return metrics_response(request.headers.get("accept"))

    app.add_route(path, metrics, methods=["GET"], include_in_schema=False)


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request into `http_server_requests_seconds`.

    The route label is the matched route's template (`/api/v1/orders/{order_id}`), read from
    the scope after routing, so path parameters never explode the label set. The server span
    is still active here (the tracing middleware wraps this one), so its trace id is the exemplar.
    """

    def __init__(self, app: ASGIApp, service: str, skip: tuple[str, ...] = ("/metrics",)):
        self.app = app
        self.service = service
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            http_server_requests_seconds.labels(
                self.service,
                scope["method"],
                getattr(route, "path", UNMATCHED_ROUTE),
                str(status),
            ).observe(time.perf_counter() - start, exemplar=trace_exemplar())


def instrument_app(app: FastAPI, service: str) -> None:
    """Bind the service name, time every request and serve `/metrics`."""
    bind_service(service)
    app.add_middleware(MetricsMiddleware, service=service)
    add_metrics_route(app)
