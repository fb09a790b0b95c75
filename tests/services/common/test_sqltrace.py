"""The SQLAlchemy statement tracer on a real PostgreSQL: spans inside a request only."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import create_engine, text

from services.common._sqltrace import StatementTracer
from services.common.settings import Settings


def test_statements_are_spans_of_the_request_and_not_traced_outside_one():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # samples everything: a span outside a request would be kept
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    engine = create_engine(Settings().database_url("shop", database="postgres"))
    StatementTracer(engine, tracer)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # like outbox polling or a health ping
            with tracer.start_as_current_span("request") as request:
                conn.execute(text("SELECT 2"))
                conn.execute(text("SELECT 2"))  # name and attributes from the cache
    finally:
        engine.dispose()

    statements = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert len(statements) == 2
    for span in statements:
        assert span.parent.span_id == request.get_span_context().span_id
        assert span.attributes["db.statement"] == "SELECT 2"
        assert span.attributes["db.system"] == "postgresql"
        assert span.name == "SELECT postgres"
