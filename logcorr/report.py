"""The HTML report: the trace's span waterfall with each span's log lines under it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logcorr.formats import Record
from logcorr.render import as_dict
from logcorr.timeline import Timeline
from logcorr.timestamps import format_us

if TYPE_CHECKING:
    import pandas as pd

# Distinct colors, handed out in service-name order within one report.
_CSS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
               "#bcbd22", "#7f7f7f", "#d62728", "#393b79", "#637939")


@dataclass
class SpanRow:
    """A span in waterfall order with its place on the time axis and its log lines."""

    span: dict[str, Any]
    depth: int
    left_pct: float
    width_pct: float
    error: bool
    color: str
    logs: list[dict] = field(default_factory=list)
    ticks: list[tuple[float, bool]] = field(default_factory=list)  # (left %, error) per log


def span_rows(spans: pd.DataFrame, records: list[Record], t0_us: int, total_us: int,
              colors: dict[str, str]):
    """Spans parent-first (children by start) with the records of each; plus the leftovers."""
    records_by_start = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in span.items()}  # NaN
        for span in spans.sort_values("start_us").to_dict("records")
    ]
    rows_by_id = {span["span_id"] for span in records_by_start}
    children: dict[str | None, list[dict]] = {}
    for span in records_by_start:
        parent = span["parent_id"] if span["parent_id"] in rows_by_id else None
        if parent == span["span_id"]:
            parent = None
        children.setdefault(parent, []).append(span)
    ordered: list[tuple[dict, int]] = []
    seen: set[int] = set()

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            if id(span) in seen:
                continue
            seen.add(id(span))
            ordered.append((span, depth))
            if parent != span["span_id"]:
                walk(span["span_id"], depth + 1)

    walk(None, 0)
    rows = []
    for span, depth in ordered:
        start, dur = int(span["start_us"]), max(int(span["duration_us"] or 0), 1)
        rows.append(SpanRow(span, depth, 100 * (start - t0_us) / total_us,
                            max(100 * dur / total_us, 0.2), bool(span.get("error")),
                            colors.get(span["service"], _CSS_COLORS[-1])))
    # A B3 shared span id is on both the client and the server span: match the service too.
    by_key = {(r.span["span_id"], r.span["service"]): r for r in rows}
    by_id: dict[str, SpanRow] = {}
    for r in rows:
        by_id.setdefault(r.span["span_id"], r)
    leftovers = []
    for rec in records:
        row = by_key.get((rec.span_id, rec.service)) or by_id.get(rec.span_id or "")
        item = _log_item(rec, t0_us, colors)
        if row is None:
            leftovers.append(item)
        else:
            row.logs.append(item)
            if rec.ts_us is not None:
                left = min(max(100 * (rec.ts_us - t0_us) / total_us, 0.0), 100.0)
                row.ticks.append((left, rec.error))
    return rows, leftovers


def _log_item(rec: Record, t0_us: int, colors: dict[str, str]) -> dict:
    item = as_dict(rec, 0.0 if rec.ts_us is None else (rec.ts_us - t0_us) / 1000)
    item["color"] = colors[rec.service]
    for key in ("exc_info", "exception", "stack_trace"):
        if isinstance(rec.fields.get(key), str):
            item["continuation"] = rec.fields[key].splitlines() + item["continuation"]
    item["fields"] = {k: v for k, v in rec.fields.items()
                      if k not in ("exc_info", "exception", "stack_trace")}
    return item


def render_report(timeline: Timeline, spans: pd.DataFrame | None, *, trace_id: str,
                  index_url: str | None = None) -> str:
    """A self-contained HTML page (inline CSS, no scripts); `index_url` adds a link back."""
    from jinja2 import Environment, PackageLoader

    records = timeline.records
    stamps = [r.ts_us for r in records if r.ts_us is not None]
    names = {r.service for r in records}
    if spans is not None:
        names |= set(spans["service"].dropna())
    colors = {s: _CSS_COLORS[i % len(_CSS_COLORS)] for i, s in enumerate(sorted(names))}
    if spans is not None and not spans.empty:
        t0 = int(min([spans["start_us"].min(), *stamps[:1]]))  # no log lines: spans alone
        end = int((spans["start_us"] + spans["duration_us"].fillna(0)).max())
        total = max(end - t0, 1)
        rows, leftovers = span_rows(spans, records, t0, total, colors)
    else:
        t0 = stamps[0] if stamps else 0
        total = max((stamps[-1] - t0) if stamps else 1, 1)
        rows, leftovers = [], [_log_item(r, t0, colors) for r in records]
    env = Environment(loader=PackageLoader("logcorr", "templates"),
                      autoescape=True)
    return env.get_template("report.html.j2").render(
        trace_id=trace_id,
        index_url=index_url,
        start=format_us(t0),
        total_ms=total / 1000,
        rows=rows,
        leftovers=leftovers,
        n_logs=len(records),
        n_errors=sum(r.error for r in records),
        services=sorted(colors.items()),
    )
