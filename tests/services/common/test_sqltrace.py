"""Statement spans from the psycopg cursor on a real PostgreSQL: inside a request only."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.common._sqltrace import _cursor_class, trace_statements
from services.common.settings import Settings


def _run(scenario) -> tuple[list, object]:
    """Run `scenario(engine, tracer)` on a traced async engine; (client spans, request span)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # samples everything: a span outside a request would be kept
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    async def main():
        engine = create_async_engine(Settings().database_url("shop", database="postgres"),
                                     pool_pre_ping=True)
        trace_statements(engine.sync_engine, tracer)
        try:
            return await scenario(engine, tracer)
        finally:
            await engine.dispose()

    request = asyncio.run(main())
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT], request


def test_statements_are_spans_of_the_request_and_not_traced_outside_one():
    async def scenario(engine, tracer):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # like outbox polling or a health ping
        with tracer.start_as_current_span("request") as request:
            async with engine.connect() as conn:  # from the pool: pre-pinged, the ping no span
                await conn.execute(text("SELECT 2"))
                await conn.execute(text("SELECT 2"))  # name and attributes from the cache
                await conn.execute(text("SELECT :x"), [{"x": 1}, {"x": 2}])  # executemany
        return request

    statements, request = _run(scenario)
    assert [s.attributes["db.statement"] for s in statements] == ["SELECT 2", "SELECT 2",
                                                                  "SELECT %(x)s"]
    for span in statements:
        assert span.parent.span_id == request.get_span_context().span_id
        assert span.attributes["db.system"] == "postgresql"
        assert span.attributes["db.name"] == "postgres"
        assert span.attributes["net.peer.port"] == 5432
        assert span.name == "SELECT postgres"
        assert span.status.status_code is StatusCode.UNSET


def test_a_failed_statement_is_an_error_span():
    async def scenario(engine, tracer):
        with (tracer.start_as_current_span("request") as request,
              pytest.raises(Exception, match="no_such_table")):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT * FROM no_such_table"))
        return request

    (span,), _ = _run(scenario)
    assert span.status.status_code is StatusCode.ERROR
    assert "no_such_table" in span.status.description
    assert span.end_time is not None


def test_only_psycopg_async_cursors_are_traced():
    with pytest.raises(TypeError, match="AsyncCursor"):
        _cursor_class(psycopg.Cursor, object())
