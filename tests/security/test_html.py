"""Script planted in names never runs in an HTML output, and shows as the literal text sent.

Every HTML output gets the payload corpus: `traceaudit orders --html` (service, span and async
names), the metrics page (panel titles, series names), and the collector's pages (trace list,
and the trace page with its logcorr report of log lines). Each page is opened in Chromium.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.collector import start_collector, stop_collector
from traceaudit._synth import order_traces
from traceaudit.cli import main as traceaudit
from traceaudit.metrics import Panel, PanelData, Target, render_html

# lower case: Zipkin lower-cases service and span names, so these survive as sent
PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><svg onload="window.__xss=3">',
    "</script><script>window.__xss=4</script>",
]


def visit(url: str) -> tuple[object, str, str]:
    """`window.__xss` after loading `url`, the page's visible text, and its SVG text."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)
            ran = page.evaluate("window.__xss")
            text = page.inner_text("body")
            svg = " ".join(page.eval_on_selector_all("svg text", "e => e.map(t => t.textContent)"))
        finally:
            browser.close()
    return ran, text, svg


def assert_inert(url: str, shown: list[str], in_svg: list[str] = ()) -> None:
    xss, text, svg = visit(url)
    assert xss is None, f"a payload ran in {url}"
    for payload in shown:
        assert payload in text, payload
    for payload in in_svg:
        assert payload in svg, payload


def planted_traces() -> list[list[dict]]:
    """Order traces with payment's service name, notification's async span name planted."""
    start = int((time.time() - 600) * 1e6)
    traces = list(order_traces(30, start_us=start, every_us=1_000_000, seed=3))
    for trace in traces:
        for span in trace:
            for end in ("localEndpoint", "remoteEndpoint"):
                if (span.get(end) or {}).get("serviceName") == "payment":
                    span[end]["serviceName"] = PAYLOADS[0]
            tags = span.get("tags") or {}
            if tags.get("peer.service") == "payment":
                tags["peer.service"] = PAYLOADS[0]
            if span["localEndpoint"]["serviceName"] == "notification":
                span["name"] = PAYLOADS[1]
    return traces


def test_the_orders_report_runs_no_planted_script(tmp_path: Path) -> None:
    saved = tmp_path / "traces.json"
    saved.write_text(json.dumps(planted_traces()))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(traceaudit, ["orders", "--from-file", str(saved), "--format",
                                             "json", "--html", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PAYLOADS[0] in {h["hop"] for h in json.loads(result.output)["hops"]}
    assert_inert(out.as_uri(), shown=PAYLOADS[:2], in_svg=[PAYLOADS[0]])


def test_the_metrics_page_runs_no_planted_script(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    frame = pd.DataFrame({"time": [now - timedelta(minutes=1), now] * 2,
                          "series": [PAYLOADS[2]] * 2 + [PAYLOADS[3]] * 2,
                          "value": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    panel = Panel("Shop", PAYLOADS[0], PAYLOADS[1], "s", "timeseries",
                  (Target("A", "up", "{{instance}}"),))
    out = tmp_path / "metrics.html"
    out.write_text(render_html([PanelData(panel, frame, [PAYLOADS[3]])],
                               prometheus=PAYLOADS[2], since=timedelta(hours=1)))
    assert_inert(out.as_uri(), shown=PAYLOADS, in_svg=[PAYLOADS[0], PAYLOADS[2]])


def test_the_collector_pages_run_no_planted_script(tmp_path: Path) -> None:
    trace_id = uuid.uuid4().hex
    now = int(time.time() * 1e6)
    root = {"traceId": trace_id, "id": "000000000000000a", "name": PAYLOADS[1],
            "timestamp": now, "duration": 5000, "localEndpoint": {"serviceName": PAYLOADS[0]},
            "tags": {"error": PAYLOADS[2]}}  # fmt: skip
    child = {**root, "id": "000000000000000b", "parentId": "000000000000000a",
             "name": PAYLOADS[3], "timestamp": now + 100, "duration": 1000}
    logs = tmp_path / "log"
    logs.mkdir()
    stamp = datetime.fromtimestamp((now + 200) / 1e6, UTC).isoformat().replace("+00:00", "Z")
    line = {"timestamp": stamp, "level": "error", "service": "order", "event": PAYLOADS[3],
            "logger": "x", "trace_id": trace_id, "span_id": "000000000000000b"}
    (logs / "order.log").write_text(json.dumps(line) + "\n")
    process, url = start_collector(tmp_path)
    try:
        assert httpx.post(f"{url}/api/v2/spans", json=[root, child]).status_code == 202
        assert_inert(f"{url}/zipkin/", shown=[PAYLOADS[0], PAYLOADS[1]])
        assert_inert(f"{url}/zipkin/traces/{trace_id}", shown=PAYLOADS[:2] + PAYLOADS[3:])
    finally:
        stop_collector(process)


def test_the_diff_report_runs_no_planted_script(tmp_path: Path) -> None:
    start = int((time.time() - 600) * 1e6)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(list(order_traces(30, start_us=start - 100_000_000,
                                                     every_us=1_000_000, seed=4))))
    current = tmp_path / "current.json"
    current.write_text(json.dumps(planted_traces()))
    out = tmp_path / "diff.html"
    result = CliRunner().invoke(traceaudit, ["diff", "--baseline", str(baseline), "--current",
                                             str(current), "--resamples", "100", "--html",
                                             str(out)])  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert_inert(out.as_uri(), shown=[PAYLOADS[0]])
