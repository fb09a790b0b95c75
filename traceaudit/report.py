"""Self-contained HTML report (plotly.js inlined, so it opens offline), rendered with jinja2."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from traceaudit.critical_path import critical_path_sections
from traceaudit.hops import OrderAnalysis, hop_table
from traceaudit.render import operation_table

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("traceaudit", "templates"),
                          autoescape=True)  # .html.j2 is no "html" extension
MAX_POINTS = 3000  # per hop in the distribution plot


def plot_text(value: object) -> str:
    """A label for plotly, which reads its text as HTML: escaped so it shows as sent."""
    return html.escape(str(value), quote=False)


def figure_html(fig: go.Figure) -> str:
    """A figure as an HTML fragment (the page inlines plotly.js once)."""
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False)


def _distributions(analysis: OrderAnalysis, hops: list[str]) -> str:
    fig = go.Figure()
    rng = np.random.default_rng(0)
    for hop in hops:
        values = analysis.calls.loc[analysis.calls["hop"] == hop, "client_us"].to_numpy() / 1000
        if len(values) > MAX_POINTS:
            values = rng.choice(values, MAX_POINTS, replace=False)
        fig.add_trace(go.Box(x=values, name=plot_text(hop), boxpoints="outliers", orientation="h"))
    fig.update_layout(title="Latency per hop (client side, ms)", showlegend=False,
                      xaxis_title="ms")
    return figure_html(fig)


def _shares(table: pd.DataFrame) -> str:
    fig = go.Figure(go.Bar(x=table["cp_share"] * 100, y=[plot_text(h) for h in table["hop"]],
                           orientation="h",
                           text=[f"{v:.1%}" for v in table["cp_share"]],
                           marker_color=["#d62728" if t == "call" else "#7f7f7f"
                                         for t in table["type"]]))
    fig.update_layout(title="Share of the order's time on the critical path (%)",
                      yaxis=dict(autorange="reversed"), xaxis_title="% of order time")
    return figure_html(fig)


def _p95_over_time(analysis: OrderAnalysis, hops: list[str]) -> str:
    traces, calls = analysis.traces, analysis.calls
    t0, t1 = traces["start_us"].min(), traces["start_us"].max()
    step = max((t1 - t0) / 30, 1_000_000)
    fig = go.Figure()

    def line(frame: pd.DataFrame, col: str, name: str, width: int = 1) -> None:
        bucket = ((frame["start_us"] - t0) // step).astype(int)
        p95 = frame.groupby(bucket)[col].quantile(0.95) / 1000
        when = pd.to_datetime((t0 + p95.index * step).astype("int64"), unit="us", utc=True)
        fig.add_trace(go.Scatter(x=when, y=p95.to_numpy(), name=plot_text(name),
                                 mode="lines+markers", line=dict(width=width)))

    line(traces, "duration_us", "order (total)", 3)
    for hop in hops:
        line(calls[calls["hop"] == hop], "client_us", hop)
    fig.update_layout(title="p95 latency over time (ms)", yaxis_title="ms")
    return figure_html(fig)


def _waterfall(analysis: OrderAnalysis, trace_id: str, title: str) -> str:
    spans = analysis.spans
    rows = spans[(spans["trace_id"] == trace_id) & (spans["root_row"] >= 0)]
    rows = rows[rows["start_us"].notna()]
    t0 = rows["start_us"].min()
    rows = rows.sort_values(["start_us", "depth"])
    cp_ids = {s for s, _, _ in critical_path_sections([
        {"id": r.Index, "parent": r.parent_row if r.parent_row in rows.index else None,
         "start": int(r.start_us), "duration": int(r.duration_us or 0), "kind": r.kind}
        for r in rows.itertuples()])}
    label = [f"{'· ' * int(d)}{plot_text(s)}: {plot_text(n)}{_marks(r)}" for d, s, n, r in
             zip(rows["depth"] - rows["depth"].min(), rows["service"], rows["name"],
                 rows.itertuples(), strict=True)]
    color = ["#d62728" if i in cp_ids else ("#9edae5" if a else "#1f77b4")
             for i, a in zip(rows.index, rows["asynchronous"], strict=True)]
    fig = go.Figure(go.Bar(
        y=list(range(len(rows))), x=(rows["duration_us"].fillna(0) / 1000).to_numpy(),
        base=((rows["start_us"] - t0) / 1000).to_numpy(), orientation="h", marker_color=color,
        hovertext=[f"{lbl}<br>{d / 1000:.2f} ms, on critical path {c / 1000:.2f} ms"
                   for lbl, d, c in zip(label, rows["duration_us"].fillna(0), rows["cp_us"],
                                        strict=True)]))
    fig.update_layout(title=f"{title} ({plot_text(trace_id)}) — red: on the critical path, "
                            "pale: async",
                      yaxis=dict(tickvals=list(range(len(rows))), ticktext=label,
                                 autorange="reversed"),
                      xaxis_title="ms since the trace started", height=120 + 22 * len(rows))
    return figure_html(fig)


def _operations_by_hop(analysis: OrderAnalysis) -> list[tuple[str, list[dict]]]:
    """(hop, its operations) in the hop table's rank order."""
    ops = operation_table(analysis)
    return [(str(hop), group.to_dict("records"))
            for hop, group in ops.groupby("hop", sort=False)]


def _marks(row) -> str:
    """⚠ notes on a waterfall bar: the oddities this span shows."""
    marks = []
    if getattr(row, "shared", False):
        marks.append("shared id")
    if getattr(row, "skew_us", 0):
        marks.append(f"clock skew {row.skew_us / 1000:+.2f} ms corrected")
    if getattr(row, "bare_call", False):
        marks.append("no client span")
    return f" ⚠ {', '.join(marks)}" if marks else ""


def render_report(analysis: OrderAnalysis, path: str | Path, *, window: dict | None = None,
                  zipkin_ui: str | None = None, top: int = 20) -> Path:
    """Write the HTML report of an analysis to `path` and return it."""
    path = Path(path)
    table = hop_table(analysis)
    traces = analysis.traces.sort_values("duration_us", ascending=False)
    hops = table.loc[table["type"] == "call", "hop"].tolist() if len(table) else []
    figures = []
    if len(traces):
        figures = [_shares(table), _distributions(analysis, hops),
                   _p95_over_time(analysis, hops),
                   _waterfall(analysis, traces["trace_id"].iloc[0], "Slowest trace"),
                   _waterfall(analysis, traces["trace_id"].iloc[len(traces) // 2],
                              "Median trace")]
    ui = zipkin_ui.rstrip("/") if zipkin_ui else None
    slowest = [{"trace_id": r.trace_id, "ms": r.duration_us / 1000, "error": r.error,
                "spans": r.spans,
                "start": datetime.fromtimestamp(r.start_us / 1e6, UTC).isoformat(),
                "url": f"{ui}/zipkin/traces/{r.trace_id}" if ui else None}
               for r in traces.head(top).itertuples()]
    html = _ENV.get_template("report.html.j2").render(
        title=f"{analysis.service} {analysis.span}", analysis=analysis, window=window or {},
        table=table.to_dict("records"), figures=figures, slowest=slowest,
        asynchronous=async_table(analysis).to_dict("records"),
        operations=_operations_by_hop(analysis) if len(traces) else [],
        anomalies=analysis.anomalies, plotly_js=get_plotlyjs(),
        generated=datetime.now(UTC).isoformat(timespec="seconds"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def async_table(analysis: OrderAnalysis) -> pd.DataFrame:
    """Asynchronous work per service and span: how long, and how long after the order."""
    a = analysis.asynchronous
    if a.empty:
        return pd.DataFrame(columns=["service", "name", "spans", "p50_ms", "p95_ms",
                                     "after_order_share", "after_order_p95_ms"])
    g = a.groupby(["service", "name"], observed=True, sort=False)
    out = pd.DataFrame({
        "spans": g.size(),
        "p50_ms": g["duration_us"].quantile(0.5) / 1000,
        "p95_ms": g["duration_us"].quantile(0.95) / 1000,
        "after_order_share": g["after_order_us"].apply(lambda s: float((s > 0).mean())),
        "after_order_p95_ms": g["after_order_us"].quantile(0.95) / 1000,
    }).reset_index()
    return out.sort_values("p95_ms", ascending=False).reset_index(drop=True)
