"""Tracing for the shop services: OpenTelemetry SDK, W3C + B3 propagation, Zipkin/OTLP export.

Spans come from FastAPI's native telemetry (server), `http.py` (HTTP clients), `_sqltrace.py`
(SQL statements, at the psycopg cursor) and the aio-pika instrumentation (publish, consume).
`setup(app, service)` is called once per service by `create_app`. Settings come from the
environment: `OTEL_TRACES_EXPORTER` (zipkin|otlp|none), `ZIPKIN_URL` (collector base URL),
`OTEL_SDK_DISABLED=true` (no tracing at all). Export runs in a background thread with a bounded
queue and a short timeout, so a slow or dead collector drops spans instead of slowing requests.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators import textmap
from opentelemetry.propagators.b3 import B3MultiFormat
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.common import metrics
from services.common.masking import MaskingExporter
from services.common.settings import Settings, get_settings

EXPORTERS = ("zipkin", "otlp", "none")
UNTRACED_PATHS = ("/health/", "/metrics")  # probes and scrapes: no server span
EXPORT_TIMEOUT_S = 2.0
# OTel's default. Each export is one HTTP POST costing a few ms of CPU here and in the
# collector, whatever its size: every 5 s that is ~0.3 ms an order at shop rates, every 2 s
# ~0.7 ms (bench/bench_telemetry.py).
SCHEDULE_DELAY_MS = 5000
_installed = False  # the provider and library instrumentation are process-wide


def enabled() -> bool:
    """False when `OTEL_SDK_DISABLED` is true: no provider, no instrumentation, no export."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() not in ("true", "1", "yes")


def collector_url(settings: Settings | None = None) -> str:
    """Base URL of the span collector (`ZIPKIN_URL`, default port 9411 + `SHOP_PORT_OFFSET`)."""
    url = (settings or get_settings()).url("collector")
    return url.rstrip("/").removesuffix("/api/v2/spans")


def make_exporter(kind: str, base_url: str) -> SpanExporter | None:
    """The span exporter for `kind` (zipkin|otlp|none) posting to the collector at `base_url`."""
    if kind == "zipkin":
        from services.common._zipkin import ZipkinJsonExporter

        return ZipkinJsonExporter(f"{base_url}/api/v2/spans", timeout=EXPORT_TIMEOUT_S)
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"{base_url}/v1/traces", timeout=EXPORT_TIMEOUT_S)
    if kind == "none":
        return None
    raise ValueError(f"OTEL_TRACES_EXPORTER must be one of {', '.join(EXPORTERS)}, got {kind!r}")


class FirstFoundPropagator(CompositePropagator):
    """Injects every format; extracts with the first that finds a context (W3C, then B3).

    The stock composite runs every extractor, a later one overriding an earlier one: a request
    carrying both `traceparent` and B3 headers (every request between shop services) would be
    parsed twice for the same ids, and B3 would win.
    """

    def extract(self, carrier: textmap.CarrierT, context: Context | None = None,
                getter: textmap.Getter[textmap.CarrierT] = textmap.default_getter) -> Context:
        context = Context() if context is None else context
        for propagator in self._propagators:
            found = propagator.extract(carrier, context, getter=getter)
            if found is not context:  # an extractor that finds nothing returns its input
                return found
        return context


def propagator() -> FirstFoundPropagator:
    """The services' propagator: W3C `traceparent` and B3 multi-header, W3C read first."""
    return FirstFoundPropagator([TraceContextTextMapPropagator(), B3MultiFormat()])


class ShopSampler(Sampler):
    """Parent-based: follow the caller's decision; as a root, sample all but CLIENT spans.

    Database pings of the health check, schema setup and outbox polling are client spans
    outside any request; as roots they would bury the real traces in one-span noise.
    `ParentBased(root=...)` decides the same through two more sampler calls a span.
    """

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if parent.is_valid:
            sampled = parent.trace_flags.sampled
            return SamplingResult(Decision.RECORD_AND_SAMPLE if sampled else Decision.DROP,
                                  attributes if sampled else None, parent.trace_state)
        if kind == trace.SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "ShopSampler"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _install_provider(service: str, settings: Settings | None) -> None:
    """Set the global tracer provider and propagators (once per process)."""
    propagate.set_global_textmap(propagator())
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ShopSampler(),
    )
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "zipkin").strip().lower() or "zipkin"
    exporter = make_exporter(kind, collector_url(settings))
    if exporter is not None:
        provider.add_span_processor(
            BatchSpanProcessor(
                MaskingExporter(exporter),  # no secret of a URL or field reaches the collector
                max_queue_size=_env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048),
                schedule_delay_millis=_env_int("OTEL_BSP_SCHEDULE_DELAY", SCHEDULE_DELAY_MS),
                max_export_batch_size=_env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
                export_timeout_millis=_env_int(
                    "OTEL_BSP_EXPORT_TIMEOUT", int(EXPORT_TIMEOUT_S * 1000)
                ),
            )
        )
    trace.set_tracer_provider(provider)


def _instrument_libraries() -> None:
    """Instrument aio-pika process-wide (once); HTTP clients trace themselves (`http.py`)."""
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor

    AioPikaInstrumentor().instrument()


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path", "").startswith(UNTRACED_PATHS)


def fastapi_config() -> TelemetryConfig:
    """`FastAPI(telemetry=...)`: FastAPI's own server spans (OTel HTTP conventions), nothing else.

    FastAPI's native instrumentation costs less than half of contrib's ASGI middleware per
    request (bench/bench_telemetry.py). Its metrics and log events stay off: metrics come from
    prometheus-client, logs from structlog; so do its per-operation spans (dependencies,
    endpoint, serialization), which would double the spans of every request.
    """
    return {"tracing": enabled(), "metrics": False, "logs": False, "operation_spans": False,
            "exclude": _untraced}


def setup(app: FastAPI, service: str) -> None:
    """Metrics always; tracing of the app's clients unless the SDK is disabled.

    Server spans come from FastAPI itself once a tracer provider is set (`fastapi_config`).
    """
    global _installed
    metrics.instrument_app(app, service)
    if enabled() and not _installed:
        _install_provider(service, getattr(app.state, "settings", None))
        _instrument_libraries()
        _installed = True


def instrument_engine(engine: object) -> None:
    """Trace the statements of a SQLAlchemy async engine on psycopg; idempotent.

    Call it before the engine connects: connections opened earlier stay untraced.
    """
    if not enabled():
        return
    from services.common._sqltrace import trace_statements

    sync_engine = getattr(engine, "sync_engine", engine)
    if getattr(sync_engine, "_shop_traced", False):
        return
    trace_statements(sync_engine)
    sync_engine._shop_traced = True


def inject(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The active trace context as headers (`traceparent`, B3), e.g. to store with an outbox row."""
    headers: dict[str, str] = dict(carrier or {})
    propagate.inject(headers)
    return headers


@contextlib.contextmanager
def attached(carrier: Mapping[str, object] | None) -> Iterator[None]:
    """Run the block in the trace context carried by `carrier` (headers from `inject`)."""
    if not carrier:
        yield
        return
    token = context.attach(propagate.extract({k: str(v) for k, v in carrier.items()}))
    try:
        yield
    finally:
        context.detach(token)
