"""`traceaudit metrics` against the stack's real Prometheus after some orders: the HTML report
holds a figure with data for every dashboard panel; the table lists every panel."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.stack import Stack
from tests.deploy._load import loaded
from tests.fixtures.browser import SCREENSHOTS, open_page
from traceaudit import metrics
from traceaudit.cli import main as traceaudit

PANELS = metrics.load_panels()


@pytest.fixture(scope="module")
def prom(stack: Stack) -> str:
    return loaded(stack)


def test_html_report_has_a_figure_with_data_per_panel(prom: str, tmp_path: Path) -> None:
    out = tmp_path / "metrics.html"
    result = CliRunner().invoke(traceaudit, ["metrics", "--prometheus", prom, "--since", "5m",
                                             "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert f"({len(PANELS)}/{len(PANELS)} panels with data)" in result.output
    html = out.read_text()
    sections = re.findall(r'<section class="panel[^"]*" data-panel="([^"]+)"\s+data-series="(\d+)"'
                          r'\s+data-has-data="(\w+)"', html)
    assert [title for title, *_ in sections] == [p.title for p in PANELS]
    empty = [title for title, series, has in sections if has != "true" or series == "0"]
    assert not empty, f"panels without data: {empty}"
    figures = re.findall(r'<script type="application/json" class="figure"[^>]*>(.*?)</script>',
                         html, re.S)
    assert len(figures) == len(PANELS)
    for panel, raw in zip(PANELS, figures, strict=True):
        fig = json.loads(raw)
        assert fig["layout"]["title"]["text"] == panel.title
        assert any(trace["y"] for trace in fig["data"]), f"{panel.title}: no points"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors, text = open_page(out.as_uri(), SCREENSHOTS / "metrics-report.png", height=1200)
    assert errors == [], f"console errors in the metrics report: {errors}"
    assert PANELS[0].title in text


def test_table_lists_every_panel_and_a_variable_narrows_it(prom: str) -> None:
    runner = CliRunner()
    result = runner.invoke(traceaudit, ["metrics", "--prometheus", prom, "--since", "5m"])
    assert result.exit_code == 0, result.output
    for panel in PANELS:
        assert panel.title.split(" ")[0] in result.output
    only_order = metrics.collect(prom, [PANELS[0]], since=timedelta(minutes=5),
                                 values={"service": "order"})
    assert set(only_order[0].frame["series"]) == {"order"}


def test_unreachable_prometheus_fails_with_one_line() -> None:
    result = CliRunner().invoke(traceaudit, ["metrics", "--prometheus", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: Prometheus at http://127.0.0.1:9 is unreachable (ConnectionError)"
    )
