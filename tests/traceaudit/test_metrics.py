"""traceaudit.metrics without Prometheus: dashboards → panels, Grafana variables, frames,
figures and the HTML page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from services.common import metrics as shop_metrics
from traceaudit import metrics

PANELS = metrics.load_panels()
MINUTE = timedelta(minutes=1)


def test_every_dashboard_panel_is_loaded_with_its_queries() -> None:
    titles = {(p.dashboard, p.title) for p in PANELS}
    assert ("Shop overview", "Request rate by service") in titles
    assert ("Orders", "Per-hop latency p95 (order → callee)") in titles
    assert len(PANELS) == 16
    assert all(p.targets and all(t.expr for t in p.targets) for p in PANELS)


def test_dashboards_only_use_metrics_the_services_define() -> None:
    defined = {
        name
        for obj in vars(shop_metrics).values()
        if hasattr(obj, "_name") and hasattr(obj, "_type")
        for name in (obj._name, f"{obj._name}_total")
    }
    histograms = {"http_server_requests_seconds", "http_client_requests_seconds"}
    defined |= {f"{h}_{s}" for h in histograms for s in ("bucket", "count", "sum")}
    defined |= {"process_cpu_seconds_total", "process_resident_memory_bytes", "up"}
    used = {
        name
        for p in PANELS
        for t in p.targets
        for name in re.findall(r"\b([a-z_]+)\s*[{\[]", t.expr)
        if name not in {"by", "rate", "sum", "max"}
    }
    assert used and used <= defined, f"unknown metrics: {used - defined}"


def test_dashboards_use_only_their_own_template_variables() -> None:
    for path in sorted(metrics.DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        declared = {v["name"] for v in dashboard["templating"]["list"]}
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        used = {m for e in exprs for m in re.findall(r"\$(\w+)", e) if not m.startswith("__")}
        assert used <= declared, f"{path.name}: undeclared variables {used - declared}"
        assert declared <= used, f"{path.name}: variables no panel uses {declared - used}"


def test_expand_replaces_grafana_variables() -> None:
    expr = 'rate(x{service=~"$service", peer=~"${peer}"}[$__rate_interval]) + y[$__range]'
    got = metrics.expand(expr, window=timedelta(hours=1), step=timedelta(seconds=15),
                         values={"peer": "payment"})
    assert got == 'rate(x{service=~".*", peer=~"payment"}[20s]) + y[3600s]'
    # a long window: the rate interval follows the step (step + scrape interval)
    step = metrics.step_for(timedelta(days=1))
    assert step == timedelta(seconds=360)
    assert "[365s]" in metrics.expand("rate(x[$__rate_interval])", window=timedelta(days=1),
                                      step=step)


def test_legend_follows_grafana_format() -> None:
    labels = {"__name__": "up", "service": "order", "route": "/api/v1/orders"}
    assert metrics.legend("p95 {{service}} {{ route }}", labels) == "p95 order /api/v1/orders"
    assert metrics.legend("", labels) == "route=/api/v1/orders, service=order"
    assert metrics.legend("", {}) == "value"


def test_to_frame_keeps_nan_and_converts_time() -> None:
    result = [
        {"metric": {"peer": "payment"}, "values": [[1700000000, "0.5"], [1700000005, "NaN"]]},
        {"metric": {"peer": "product"}, "values": [[1700000000, "0.25"]]},
    ]
    frame = metrics.to_frame(result, "{{peer}}")
    assert list(frame["series"]) == ["payment", "payment", "product"]
    assert frame["time"].iloc[0] == pd.Timestamp(1700000000, unit="s", tz="UTC")
    assert frame["value"].isna().tolist() == [False, True, False]
    data = metrics.PanelData(PANELS[0], frame)
    assert data.has_data and metrics.latest(data) == {"payment": 0.5, "product": 0.25}
    empty = metrics.PanelData(PANELS[0], metrics.to_frame([], ""))
    assert not empty.has_data and metrics.latest(empty) == {}


def _data(panel: metrics.Panel, series: dict[str, list[float]]) -> metrics.PanelData:
    result = [
        {"metric": {"service": name}, "values": [[1700000000 + 5 * i, str(v)]
                                                 for i, v in enumerate(values)]}
        for name, values in series.items()
    ]
    return metrics.PanelData(panel, metrics.to_frame(result, "{{service}}"))


def test_figure_has_one_trace_per_series_and_named_states() -> None:
    rate = next(p for p in PANELS if p.title == "Request rate by service")
    fig = metrics.figure(_data(rate, {"order": [1, 2], "payment": [0.5, 0.5]}))
    assert [t.name for t in fig.data] == ["order", "payment"]
    assert list(fig.data[0].y) == [1.0, 2.0]
    breaker = next(p for p in PANELS if p.kind == "state-timeline")
    fig = metrics.figure(_data(breaker, {"order": [0, 1, 2]}))
    assert list(fig.layout.yaxis.ticktext) == ["closed", "open", "half-open"]
    assert fig.data[0].line.shape == "hv"


def test_html_page_has_a_figure_per_panel_and_says_which_have_no_data() -> None:
    collected = [_data(p, {"order": [1.0, 2.0]}) for p in PANELS[:-1]]
    collected.append(metrics.PanelData(PANELS[-1], metrics.to_frame([], ""),
                                       errors=["A: bad_data: parse error"]))
    html = metrics.render_html(collected, prometheus="http://prom:9090", since=timedelta(hours=1),
                               end=datetime(2026, 1, 1, tzinfo=UTC))
    figures = re.findall(r'<script type="application/json" class="figure"[^>]*>(.*?)</script>',
                         html, re.S)
    assert len(figures) == len(PANELS)
    assert all(json.loads(f)["data"] for f in figures[:-1])
    assert json.loads(figures[-1])["data"] == []
    assert html.count('data-has-data="true"') == len(PANELS) - 1
    assert "no data in this window" in html and "A: bad_data: parse error" in html
    assert "last 1h up to 2026-01-01 00:00:00 UTC" in html
    assert "<script src=" not in html  # plotly.js is inline: the page works offline


def test_unreachable_prometheus_is_one_clear_line() -> None:
    with pytest.raises(metrics.PrometheusUnreachable, match=r"^Prometheus at http://127\.0\.0\.1:9 "
                                                            r"is unreachable \(ConnectionError\)$"):
        metrics.collect("http://127.0.0.1:9", PANELS[:1], since=MINUTE)


def test_missing_dashboards_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(metrics.MetricsError, match="no Grafana dashboards"):
        metrics.load_panels(tmp_path)
