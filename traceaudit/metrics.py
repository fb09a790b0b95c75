"""The Grafana dashboards of `traceaudit/dashboards` (package data) as plotly figures, for a machine
without Grafana.

Panels and their PromQL are read from the dashboard JSON itself, so the report and Grafana never
drift apart. Grafana's variables are expanded the way Grafana would for "All" and the chosen
time range; each query runs against Prometheus' `query_range` API.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import requests
from jinja2 import Environment, PackageLoader
from plotly.offline import get_plotlyjs

# package data; deploy/compose.yaml mounts the same folder into Grafana
DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
SCRAPE_INTERVAL = timedelta(seconds=5)  # deploy/prometheus.yml's scrape_interval
MAX_POINTS = 240


class MetricsError(RuntimeError):
    """A query failed or the dashboards are missing (one-line message)."""


class PrometheusUnreachable(MetricsError):
    """No answer from Prometheus at all: nothing else can be asked either."""


@dataclass(frozen=True)
class Target:
    """One query of a panel: its PromQL (Grafana variables unexpanded) and legend format."""

    ref: str
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    dashboard: str
    title: str
    description: str
    unit: str
    kind: str
    targets: tuple[Target, ...]
    value_text: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PanelData:
    """A panel with its series: a DataFrame `time, series, value` (one row a point)."""

    panel: Panel
    frame: pd.DataFrame
    errors: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(np.isfinite(self.frame["value"]).any())


# --- dashboards -> panels (pure) ---------------------------------------------------------------


def panels_of(dashboard: Mapping[str, Any]) -> list[Panel]:
    """Every panel with queries in a Grafana dashboard (rows' nested panels included)."""
    out = []
    for p in _walk(dashboard.get("panels", [])):
        targets = tuple(
            Target(t.get("refId", ""), t["expr"], t.get("legendFormat", ""))
            for t in p.get("targets", [])
            if t.get("expr")
        )
        if targets:
            defaults = p.get("fieldConfig", {}).get("defaults", {})
            out.append(
                Panel(
                    dashboard=dashboard.get("title", ""),
                    title=p.get("title", ""),
                    description=p.get("description", ""),
                    unit=defaults.get("unit", ""),
                    kind=p.get("type", "timeseries"),
                    targets=targets,
                    value_text=_value_text(defaults.get("mappings", [])),
                )
            )
    return out


def _walk(panels: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for p in panels:
        yield p
        yield from _walk(p.get("panels", []))


def _value_text(mappings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {
        value: option["text"]
        for m in mappings
        if m.get("type") == "value"
        for value, option in m.get("options", {}).items()
    }


def load_panels(directory: Path = DASHBOARDS) -> list[Panel]:
    """The panels of every `*.json` dashboard in `directory`, in file order."""
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise MetricsError(f"no Grafana dashboards (*.json) in {directory}")
    return [p for f in files for p in panels_of(json.loads(f.read_text()))]


# --- Grafana variables (pure) ------------------------------------------------------------------


def step_for(window: timedelta, max_points: int = MAX_POINTS) -> timedelta:
    """Grafana-like `$__interval`: the window over ~max_points, never below the scrape interval."""
    return max(SCRAPE_INTERVAL, timedelta(seconds=math.ceil(window.total_seconds() / max_points)))


def expand(
    expr: str, *, window: timedelta, step: timedelta, values: Mapping[str, str] | None = None
) -> str:
    """PromQL with Grafana's variables replaced; user variables not in `values` mean "All" (.*)."""
    rate_interval = max(step + SCRAPE_INTERVAL, 4 * SCRAPE_INTERVAL)
    builtins = {
        "__rate_interval": _duration(rate_interval),
        "__interval": _duration(step),
        "__range": _duration(window),
    }

    def replace(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return builtins.get(name) or (values or {}).get(name, ".*")

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def _duration(d: timedelta) -> str:
    return f"{max(1, round(d.total_seconds()))}s"


def _human(d: timedelta) -> str:
    seconds = round(d.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def legend(fmt: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format (`{{service}} p95`), or the label set when there is none."""
    if not fmt:
        pairs = (f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
        return ", ".join(pairs) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def to_frame(result: Iterable[Mapping[str, Any]], legend_format: str) -> pd.DataFrame:
    """A Prometheus matrix result as rows `time, series, value` (NaN kept, as Prometheus says)."""
    rows = [
        (ts, legend(legend_format, r["metric"]), value)
        for r in result
        for ts, value in r["values"]
    ]
    frame = pd.DataFrame(rows, columns=["time", "series", "value"])
    frame["time"] = pd.to_datetime(frame["time"].astype(float), unit="s", utc=True)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame


# --- Prometheus (I/O) --------------------------------------------------------------------------


def query_range(
    prometheus: str, expr: str, start: datetime, end: datetime, step: timedelta
) -> list[dict[str, Any]]:
    """Run one range query; raise MetricsError with Prometheus' own message on failure."""
    url = prometheus.rstrip("/") + "/api/v1/query_range"
    params = {"query": expr, "start": start.timestamp(), "end": end.timestamp(),
              "step": step.total_seconds()}
    try:
        response = requests.post(url, data=params, timeout=15)
    except requests.RequestException as exc:
        reason = f"{prometheus} is unreachable ({type(exc).__name__})"
        raise PrometheusUnreachable(f"Prometheus at {reason}") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise MetricsError(
            f"{url} answered {response.status_code} without JSON: is it Prometheus?"
        ) from exc
    if body.get("status") != "success":
        raise MetricsError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
    return body["data"]["result"]


def collect(
    prometheus: str,
    panels: Iterable[Panel],
    *,
    since: timedelta,
    end: datetime | None = None,
    values: Mapping[str, str] | None = None,
) -> list[PanelData]:
    """Every panel's series over the last `since`. A failing query is noted on its panel; an
    unreachable Prometheus raises MetricsError."""
    end = end or datetime.now(UTC)
    start = end - since
    step = step_for(since)
    out = []
    for panel in panels:
        frames, errors = [], []
        for target in panel.targets:
            expr = expand(target.expr, window=since, step=step, values=values)
            try:
                result = query_range(prometheus, expr, start, end, step)
            except PrometheusUnreachable:
                raise
            except MetricsError as exc:
                errors.append(f"{target.ref}: {exc}")
                continue
            frames.append(to_frame(result, target.legend))
        frame = pd.concat(frames, ignore_index=True) if frames else to_frame([], "")
        out.append(PanelData(panel, frame, errors))
    return out


# --- figures and the page ----------------------------------------------------------------------

_AXIS = {
    "s": {"title": "seconds"},
    "percentunit": {"tickformat": ".0%"},
    "bytes": {"tickformat": ".3s", "ticksuffix": "B"},
    "reqps": {"title": "requests / s"},
}


def figure(data: PanelData) -> go.Figure:
    """One panel as a plotly line chart (stepped, with named states, for state timelines)."""
    panel = data.panel
    fig = go.Figure()
    stepped = panel.kind == "state-timeline"
    for name, series in data.frame.groupby("series", sort=True):
        fig.add_trace(
            go.Scatter(
                x=series["time"], y=series["value"], name=html.escape(str(name), quote=False),
                mode="lines",
                line={"shape": "hv" if stepped else "linear"},
            )
        )
    yaxis: dict[str, Any] = {"rangemode": "tozero", **_AXIS.get(panel.unit, {})}
    if panel.value_text:
        ticks = sorted(float(v) for v in panel.value_text)
        texts = [html.escape(panel.value_text[_key(v)], quote=False) for v in ticks]
        yaxis.update(tickvals=ticks, ticktext=texts,
                     range=[ticks[0] - 0.2, ticks[-1] + 0.2])
    elif not (data.frame["value"].fillna(0) > 0).any():
        yaxis["range"] = [0, 1]  # all zero: keep the axis at zero instead of plotly's -1..1
    fig.update_layout(
        title={"text": html.escape(panel.title, quote=False)},
        height=340,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        yaxis=yaxis,
        template="plotly_white",
        hovermode="x unified",
    )
    return fig


def _key(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def render_html(
    panels: list[PanelData], *, prometheus: str, since: timedelta, end: datetime | None = None
) -> str:
    """One self-contained HTML page (plotly.js inline): a figure per panel, grouped by dashboard."""
    env = Environment(loader=PackageLoader("traceaudit"), autoescape=True)
    dashboards: dict[str, list[dict[str, Any]]] = {}
    for i, data in enumerate(panels):
        dashboards.setdefault(data.panel.dashboard, []).append(
            {
                "id": f"panel-{i}",
                "data": data,
                # JSON inside <script>: keep any "</" in label values from closing the tag
                "figure": figure(data).to_json().replace("</", "<\\/"),
                "series": data.frame["series"].nunique(),
            }
        )
    return env.get_template("metrics.html.j2").render(
        dashboards=dashboards,
        prometheus=prometheus,
        since=_human(since),
        end=(end or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
        plotly_js=get_plotlyjs(),
    )


def latest(data: PanelData) -> dict[str, float]:
    """The last finite value of each series of a panel."""
    finite = data.frame[np.isfinite(data.frame["value"])]
    return finite.sort_values("time").groupby("series")["value"].last().to_dict()
