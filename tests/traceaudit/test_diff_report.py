"""The diff's HTML report: what it shows, and that trace data cannot inject markup."""

from __future__ import annotations

import re

from tests.traceaudit._windows import order
from traceaudit.diff import compare
from traceaudit.diff_report import render_diff
from traceaudit.hops import analyse
from traceaudit.spans import spans_frame

EVIL = "<script>alert(1)</script>"


def _evil(trace: list[dict], failing: bool = False) -> list[dict]:
    for span in trace:  # a hostile callee name and an error message with markup
        if span["localEndpoint"]["serviceName"] == "customer":
            span["localEndpoint"]["serviceName"] = EVIL
            if failing:
                span["tags"]["error"] = "<img src=x onerror=alert(2)>"
        if span.get("tags", {}).get("peer.service") == "customer":
            span["tags"]["peer.service"] = EVIL
    return trace


def test_report_shows_verdict_figures_examples_and_escapes(tmp_path):
    base = [_evil(order(i)) for i in range(40)]
    cur = [_evil(order(100 + i, customer=60), failing=i % 2 == 0) for i in range(40)]
    a, b = analyse(spans_frame(base)), analyse(spans_frame(cur))
    d = compare(a, b, baseline_traces=base, current_traces=cur, resamples=200)
    assert d.verdict.hop == EVIL.lower()
    page = render_diff(d, a, b, tmp_path / "diff.html", zipkin_ui="http://zipkin.example:9411",
                       sources=("old.json", "new.json")).read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    summary = re.search(r'<p class="summary" id="summary">(.*?)</p>', page).group(1)
    assert summary.startswith("&lt;script&gt;alert(1)&lt;/script&gt;: errors 0% → 50%")
    assert page.count("Plotly.newPlot") == 2  # distributions, p95 over time
    assert not re.search(r"<script[^>]+src=", page)  # plotly inlined: opens offline
    for tid in d.verdict.examples["current"] + d.verdict.examples["baseline"]:
        assert f'href="http://zipkin.example:9411/zipkin/traces/{tid}"' in page
    assert "old.json" in page and "new.json" in page
