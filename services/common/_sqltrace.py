"""A client span per SQL statement, made by the psycopg cursor, named and tagged as
OpenTelemetry's SQLAlchemy instrumentation does it.

Upstream's `EngineTracer` listens to SQLAlchemy's connection events, and any such listener puts
every connection on SQLAlchemy's event path: each one joins the engine's dispatcher and every
execute fires the begin, execute and commit events, traced or not. The order service spent 1.2M
instructions an order on that, a quarter of its tracing overhead
(bench/bench_telemetry_instructions.py). So the spans are made where a statement goes to the
server: in a psycopg cursor subclass that each new connection gets as its `cursor_factory`.
Names and attributes come from upstream's code, computed once per statement text.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import __name__ as SCOPE
from opentelemetry.instrumentation.sqlalchemy import engine as upstream
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as VERSION
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

CACHE_SIZE = 1024  # distinct statement texts per engine; beyond that, computed each time


class StatementTracer(upstream.EngineTracer):
    """Upstream's span name and attributes of a statement, cached by statement text.

    None of upstream's SQLAlchemy event listeners is registered (see the module docstring).
    """

    def __init__(self, engine: Engine, tracer: trace.Tracer | None = None):
        super().__init__(tracer or trace.get_tracer(SCOPE, VERSION), engine,
                         connections_usage=None)
        self.url = engine.url
        # what `pool_pre_ping` sends on checkout (";" with psycopg): connection upkeep, no span
        self.ping = engine.dialect._dialect_specific_select_one
        self._details: dict[str, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def _register_event_listener(cls, *args: Any, **kwargs: Any) -> None:
        pass

    def details(self, cursor: Any, statement: Any) -> tuple[str, dict[str, Any]]:
        """(span name, attributes) of `statement` run by `cursor`."""
        details = self._details.get(statement)
        if details is None:
            attrs, found = upstream._get_attributes_from_url(
                self.url, self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
            )
            if not found:
                attrs = upstream._get_attributes_from_cursor_or_conn(
                    self.vendor, None, cursor, attrs, self._sem_conv_opt_in_mode_db,
                    self._sem_conv_opt_in_mode_http,
                )
            db_name = upstream._get_db_name_from_cursor_or_conn(self.vendor, None, cursor)
            collected = _Attributes()
            self._set_db_client_span_attributes(collected, statement, db_name, attrs)
            details = (self._operation_name(db_name, statement), dict(collected))
            if isinstance(statement, str) and len(self._details) < CACHE_SIZE:
                self._details[statement] = details
        return details

    def start(self, cursor: Any, statement: Any) -> trace.Span | None:
        """The span of `statement`; None for a pre-ping, or outside a sampled request (outbox
        polling, health checks: the sampler would drop it anyway)."""
        if statement == self.ping or not trace.get_current_span().is_recording():
            return None
        name, attributes = self.details(cursor, statement)
        return self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)


class _Attributes(dict):
    """Collects what upstream sets on a span, to pass it to `start_span` later."""

    set_attribute = dict.__setitem__


class _TracedCursor(psycopg.AsyncCursor):
    """An async psycopg cursor whose statements are client spans (`statements` set by subclass)."""

    statements: StatementTracer

    async def _traced(self, run: Callable[..., Awaitable[Any]], query: Any, *args: Any,
                      **kwargs: Any) -> None:
        span = self.statements.start(self, query)
        if span is None:
            await run(query, *args, **kwargs)
            return
        try:
            await run(query, *args, **kwargs)
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        finally:
            span.end()

    async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        await self._traced(super().execute, query, *args, **kwargs)
        return self

    async def executemany(self, query: Any, *args: Any, **kwargs: Any) -> None:
        await self._traced(super().executemany, query, *args, **kwargs)


@functools.cache
def _cursor_class(base: type, statements: StatementTracer) -> type:
    if not issubclass(base, psycopg.AsyncCursor):
        raise TypeError(f"statement tracing needs psycopg's AsyncCursor, got {base.__name__}")
    return type(f"Traced{base.__name__}", (_TracedCursor, base), {"statements": statements})


def trace_statements(engine: Engine, tracer: trace.Tracer | None = None) -> StatementTracer:
    """Make every new connection of `engine` (async, psycopg) trace its statements."""
    statements = StatementTracer(engine, tracer)

    @event.listens_for(engine, "connect")
    def _traced_cursors(dbapi_connection: Any, _record: Any) -> None:
        connection = dbapi_connection.driver_connection
        connection.cursor_factory = _cursor_class(connection.cursor_factory, statements)

    return statements
