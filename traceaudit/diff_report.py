"""The HTML report of a diff: the verdict, ranked changes, distributions and examples.

Self-contained (plotly.js inlined) and autoescaped: trace data (service and span names, tags)
is untrusted text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from traceaudit.diff import Diff
from traceaudit.hops import OrderAnalysis
from traceaudit.outcomes import Sample
from traceaudit.report import figure_html, plot_text

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("traceaudit", "templates"),
                          autoescape=True)
MAX_POINTS = 2000  # per hop and window in the distribution plot
COLORS = {"baseline": "#1f77b4", "current": "#d62728"}


def _distributions(diff: Diff, buckets: list[str]) -> str:
    """Critical-path ms per order, per hop, before and after (box plots side by side)."""
    fig = go.Figure()
    rng = np.random.default_rng(0)
    for side, s in (("baseline", diff.baseline), ("current", diff.current)):
        xs, ys = [], []
        for bucket in buckets:
            values = s.cp_ms[:, s.buckets.index(bucket)] if bucket in s.buckets else []
            if len(values) > MAX_POINTS:
                values = rng.choice(values, MAX_POINTS, replace=False)
            xs.extend(values)
            ys.extend([plot_text(bucket)] * len(values))
        fig.add_trace(go.Box(x=xs, y=ys, name=side, orientation="h", boxpoints="outliers",
                             marker_color=COLORS[side]))
    fig.update_layout(title="Critical-path time per order, by hop (ms): before and after",
                      boxmode="group", xaxis_title="ms", yaxis=dict(autorange="reversed"),
                      height=160 + 60 * len(buckets))
    return figure_html(fig)


def _p95_over_time(diff: Diff, buckets: list[str]) -> str:
    """p95 of the order and of the top hops over both windows, in 20 steps each."""
    fig = go.Figure()
    for side, s in (("baseline", diff.baseline), ("current", diff.current)):
        if not s.n:
            continue
        order = np.argsort(s.start_us, kind="stable")
        steps = np.array_split(order, min(20, s.n))
        when = [datetime.fromtimestamp(s.start_us[st[0]] / 1e6, UTC) for st in steps if len(st)]
        series = [("order (total)", s.total_ms, 3)] + [
            (b, s.cp_ms[:, s.buckets.index(b)], 1) for b in buckets if b in s.buckets]
        for name, values, width in series:
            p95 = [float(np.quantile(values[st], 0.95)) for st in steps if len(st)]
            fig.add_trace(go.Scatter(x=when, y=p95, mode="lines+markers",
                                     name=plot_text(f"{name} ({side})"), legendgroup=name,
                                     line=dict(width=width,
                                               dash="dot" if side == "baseline" else "solid")))
    fig.update_layout(title="p95 over time across both windows (ms; order total, "
                      "critical path per hop)", yaxis_title="ms")
    return figure_html(fig)


def _examples(s: Sample, ids: list[str], ui: str | None) -> list[dict]:
    pos = {t: i for i, t in enumerate(s.trace_ids)}
    out = []
    for tid in ids:
        i = pos.get(tid)
        out.append({"trace_id": tid, "url": f"{ui}/zipkin/traces/{tid}" if ui else None,
                    "ms": float(s.total_ms[i]) if i is not None else None,
                    "outcome": s.outcome[i] if i is not None else "",
                    "start": datetime.fromtimestamp(s.start_us[i] / 1e6, UTC).isoformat()
                    if i is not None else ""})
    return out


def render_diff(diff: Diff, baseline: OrderAnalysis, current: OrderAnalysis,
                path: str | Path, *, sources: tuple[str, str] = ("baseline", "current"),
                zipkin_ui: str | None = None, top: int = 6) -> Path:
    """Write the HTML report of `diff` to `path` and return the path."""
    path = Path(path)
    ranked = []
    for c in diff.changes:
        if c.measure == "latency" and c.hop not in ranked:
            ranked.append(c.hop)
    buckets = [b for b in ranked][:top]
    figures = []
    if diff.baseline.n or diff.current.n:
        figures = [_distributions(diff, buckets), _p95_over_time(diff, buckets[:3])]
    ui = zipkin_ui.rstrip("/") if zipkin_ui else None
    examples = diff.verdict.examples or {
        "baseline": [str(t) for t in diff.baseline.trace_ids[:3]],
        "current": [str(t) for t in diff.current.trace_ids[:3]]}
    html = _ENV.get_template("diff.html.j2").render(
        title=f"{current.service} {current.span}", diff=diff, sources=sources,
        changes=[{"rank": i, **c.as_dict()} for i, c in enumerate(diff.changes, 1)],
        outcomes=diff.outcomes.to_dict("records"), evidence=diff.evidence.to_dict("records"),
        figures=figures, plotly_js=get_plotlyjs(),
        examples={side: _examples(getattr(diff, side), examples.get(side, []), ui)
                  for side in ("baseline", "current")},
        callers=(baseline.caller, current.caller),
        generated=datetime.now(UTC).isoformat(timespec="seconds"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
