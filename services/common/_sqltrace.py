"""The OpenTelemetry SQLAlchemy instrumentation with its per-statement work done once.

Upstream's `EngineTracer` rebuilds a span's name and attributes from the engine URL and the
cursor on every statement and sets them one at a time (about 100 µs a statement, the largest
share of the tracing overhead). One engine talks to one database and statements repeat, so
here name and attributes are computed by upstream's own code once per statement text and
handed to `start_span`. Its pool listeners only feed an OpenTelemetry metric that nothing
reads (the services export metrics with prometheus-client), so they are not registered.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import __name__ as SCOPE
from opentelemetry.instrumentation.sqlalchemy import engine as upstream
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as VERSION
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

CACHE_SIZE = 1024  # distinct statement texts per engine; beyond that, computed each time
_POOL_EVENTS = frozenset({"connect", "close", "checkin", "checkout"})


class _Attributes(dict):
    """Collects what upstream sets on a span, to pass it to `start_span` later."""

    set_attribute = dict.__setitem__


class StatementTracer(upstream.EngineTracer):
    """A client span per statement, with upstream's names and attributes, cached by statement."""

    def __init__(self, engine: Any, tracer: trace.Tracer | None = None):
        super().__init__(tracer or trace.get_tracer(SCOPE, VERSION), engine,
                         connections_usage=None)
        self._details: dict[str, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def _register_event_listener(cls, target, identifier, func, *args, **kw) -> None:
        if identifier not in _POOL_EVENTS:
            super()._register_event_listener(target, identifier, func, *args, **kw)

    def _span_details(self, conn, cursor, statement) -> tuple[str, dict[str, Any]]:
        details = self._details.get(statement)
        if details is None:
            attrs, found = upstream._get_attributes_from_url(
                conn.engine.url, self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
            )
            if not found:
                attrs = upstream._get_attributes_from_cursor_or_conn(
                    self.vendor, conn, cursor, attrs, self._sem_conv_opt_in_mode_db,
                    self._sem_conv_opt_in_mode_http,
                )
            db_name = upstream._get_db_name_from_cursor_or_conn(self.vendor, conn, cursor)
            collected = _Attributes()
            self._set_db_client_span_attributes(collected, statement, db_name, attrs)
            details = (self._operation_name(db_name, statement), dict(collected))
            if isinstance(statement, str) and len(self._details) < CACHE_SIZE:
                self._details[statement] = details
        return details

    def _before_cur_exec(self, conn, cursor, statement, params, context, _executemany):
        # Outside a sampled request (outbox polling, health checks) the sampler would drop
        # the span anyway: skip building it.
        if not is_instrumentation_enabled() or not trace.get_current_span().is_recording():
            return statement, params
        name, attributes = self._span_details(conn, cursor, statement)
        context._otel_span = self.tracer.start_span(
            name, kind=trace.SpanKind.CLIENT, attributes=attributes
        )
        return statement, params
