"""Against the running stack and its Prometheus, after some orders: every target is up, every
service serves requests, and every PromQL expression of the dashboards and alert rules parses and
returns data."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import requests
import yaml

from services import prometheus
from services.common.settings import HTTP_SERVICES
from services.stack import Stack
from tests.deploy._load import instant, loaded, targets
from traceaudit import metrics

RULES = yaml.safe_load((prometheus.DEPLOY / "prometheus" / "rules.yml").read_text())
ALERTS = {r["alert"]: r["expr"] for g in RULES["groups"] for r in g["rules"] if "alert" in r}
PANEL_TARGETS = [
    (f"{p.dashboard} / {p.title} / {t.ref}", t.expr)
    for p in metrics.load_panels()
    for t in p.targets
]
# each alert is `<signal> <comparison> <threshold>` at the top level (see rules.yml)
ALERT_SHAPE = re.compile(r"^(?P<signal>.*\S)\s*(?:==|!=|>=|<=|>|<)\s*-?[0-9.]+\s*$", re.DOTALL)


@pytest.fixture(scope="module")
def prom(stack: Stack) -> str:
    return loaded(stack)


def test_every_target_is_up(prom: str) -> None:
    jobs = {t["labels"]["job"]: t for t in targets(prom)}
    assert set(jobs) == {*HTTP_SERVICES, "collector", "prometheus"}
    down = {job: t["lastError"] for job, t in jobs.items() if t["health"] != "up"}
    assert not down, f"targets not up: {down}"
    up = {r["metric"]["job"]: r["value"][1] for r in instant(prom, "up")}
    assert up == dict.fromkeys(jobs, "1")


def test_every_service_serves_requests(prom: str) -> None:
    rates = {
        r["metric"]["service"]: float(r["value"][1])
        for r in instant(prom, "sum by (service) (rate(http_server_requests_seconds_count[1m]))")
    }
    idle = [s for s in HTTP_SERVICES if not rates.get(s, 0.0) > 0]
    assert not idle, f"request rate 0 for {idle} (rates {rates})"


@pytest.mark.parametrize("name, expr", PANEL_TARGETS, ids=[n for n, _ in PANEL_TARGETS])
def test_dashboard_query_returns_data(prom: str, name: str, expr: str) -> None:
    frame = _range(prom, expr)
    assert len(frame), f"{name}: no series for\n{expr}"
    assert frame["value"].map(math.isfinite).any(), f"{name}: only NaN for\n{expr}"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alert_rule_parses_and_its_signal_has_data(prom: str, alert: str) -> None:
    expr = ALERTS[alert]
    instant(prom, expr)  # the whole rule parses and evaluates (usually to nothing: all is well)
    shape = ALERT_SHAPE.match(expr)
    assert shape, f"{alert}: not `<signal> <comparison> <threshold>`: {expr}"
    frame = _range(prom, shape["signal"])
    assert frame["value"].map(math.isfinite).any(), f"{alert}: no data for {shape['signal']}"


def test_prometheus_loaded_the_alert_rules(prom: str) -> None:
    groups = requests.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]
    loaded_rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert set(ALERTS) <= set(loaded_rules)
    assert all(loaded_rules[a]["health"] in ("ok", "unknown") for a in ALERTS)


def test_latency_exemplars_link_to_traces_the_collector_knows(prom: str, stack: Stack) -> None:
    end = time.time()
    body = requests.get(f"{prom}/api/v1/query_exemplars", timeout=10, params={
        "query": "http_server_requests_seconds_bucket", "start": end - 600, "end": end,
    }).json()
    assert body["status"] == "success", body
    trace_ids = {e["labels"]["trace_id"] for series in body["data"] for e in series["exemplars"]}
    assert trace_ids, "no exemplars: do the services serve OpenMetrics and Prometheus store them?"
    known = [t for t in sorted(trace_ids)
             if requests.get(f"{stack.collector_url}/api/v2/trace/{t}", timeout=10).ok]
    assert known, f"none of {len(trace_ids)} exemplar trace ids is a trace of the collector"


def test_a_broken_query_gets_prometheus_own_message(prom: str) -> None:
    window = timedelta(minutes=2)
    with pytest.raises(metrics.MetricsError, match="parse error"):
        metrics.query_range(prom, "sum by (service (up)", *_bounds(window), timedelta(seconds=5))


def _bounds(window: timedelta) -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - window, end


def _range(prom: str, expr: str) -> pd.DataFrame:
    """The expression as the report runs it: last 5 minutes, Grafana variables at "All"."""
    window = timedelta(minutes=5)
    step = metrics.step_for(window)
    result = metrics.query_range(
        prom, metrics.expand(expr, window=window, step=step), *_bounds(window), step
    )
    return metrics.to_frame(result, "")
