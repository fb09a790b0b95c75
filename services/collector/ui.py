"""A small read-only UI in Zipkin's URL layout: `/zipkin/` lists traces, `/zipkin/traces/{id}`
shows one with each span's log lines (the logcorr report), so trace links work out of the box.

Imported by the UI handlers only, so the collector's start-up and ingest path stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog
from jinja2 import Environment, PackageLoader

log = structlog.get_logger()
_ENV = Environment(
    loader=PackageLoader("services.collector", "templates"),
    autoescape=True,
)


@dataclass(frozen=True)
class TraceSummary:
    """One line of the trace list: the root span's service and name, timing, counts."""

    trace_id: str
    service: str
    name: str
    start: str
    duration_ms: float
    spans: int
    services: list[str]
    errors: int


def summarise(spans: list[dict[str, Any]]) -> TraceSummary:
    """The summary of one trace's Zipkin v2 spans (the root is the earliest parentless span)."""
    timed = [s for s in spans if s.get("timestamp")]
    roots = [s for s in spans if not s.get("parentId")] or spans
    root = min(roots, key=lambda s: s.get("timestamp") or 2**63)
    start = min((s["timestamp"] for s in timed), default=0)
    end = max((s["timestamp"] + (s.get("duration") or 0) for s in timed), default=0)
    return TraceSummary(
        trace_id=root["traceId"],
        service=_service(root),
        name=root.get("name") or "",
        start=datetime.fromtimestamp(start / 1e6, UTC).isoformat(timespec="milliseconds")
        if start else "",
        duration_ms=(end - start) / 1000,
        spans=len(spans),
        services=sorted({_service(s) for s in spans}),
        errors=sum(_is_error(s) for s in spans),
    )


def _service(span: dict[str, Any]) -> str:
    return (span.get("localEndpoint") or {}).get("serviceName") or "unknown"


def _is_error(span: dict[str, Any]) -> bool:
    """An `error` tag, or an OpenTelemetry error status (what traceaudit counts too)."""
    tags = span.get("tags") or {}
    return "error" in tags or tags.get("otel.status_code") == "ERROR"


def index_page(
    traces: list[list[bytes]], services: list[str], params: dict[str, str]
) -> str:
    """The list of traces (newest first, as the store found them) with a query form."""
    summaries = [summarise([orjson.loads(span) for span in trace]) for trace in traces]
    return _ENV.get_template("traces.html.j2").render(
        traces=summaries, services=services, params=params
    )


def not_found_page(trace_id: str) -> str:
    return _ENV.get_template("not_found.html.j2").render(trace_id=trace_id)


def trace_page(trace_id: str, spans: list[bytes], log_dir: Path) -> str:
    """The logcorr report of one trace: its span waterfall with the lines of `log_dir` under it."""
    from logcorr.report import render_report
    from logcorr.spans import load_spans

    frame = load_spans(trace_id, trace=[orjson.loads(span) for span in spans])
    return render_report(_timeline(trace_id, log_dir), frame, trace_id=trace_id,
                         index_url="../")


def _timeline(trace_id: str, log_dir: Path):
    """The trace's log lines from the services' logs; none when there are no logs to read."""
    from logcorr.grep import grep
    from logcorr.timeline import Timeline

    if not log_dir.is_dir():
        return Timeline([])
    try:
        result = grep(trace_id, [str(log_dir)])
    except (OSError, ValueError) as exc:
        log.warning("collector.ui_logs_unreadable", dir=str(log_dir), error=str(exc))
        return Timeline([])
    if result.broken.count:
        log.info("collector.ui_broken_log_lines", summary=result.broken.summary())
    return result.timeline
