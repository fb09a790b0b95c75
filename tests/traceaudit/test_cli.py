"""The CLI end to end against the local collector (traces posted to it first)."""

from __future__ import annotations

import csv
import http.server
import io
import json
import re
import threading
import time

import httpx
import pytest
from click.testing import CliRunner

from traceaudit._synth import order_traces
from traceaudit.cli import main

N = 120


@pytest.fixture(scope="module")
def posted(collector: str) -> dict:
    start = int((time.time() - 600) * 1e6)
    traces = list(order_traces(N, start_us=start, every_us=1_000_000, slow={"payment": 25_000},
                               seed=7))
    spans = [s for t in traces for s in t]
    for i in range(0, len(spans), 500):
        r = httpx.post(f"{collector}/api/v2/spans", json=spans[i:i + 500], timeout=30)
        assert r.status_code == 202, r.text
    payment = [s["duration"] for t in traces for s in t
               if s.get("kind") == "CLIENT" and s.get("tags", {}).get("peer.service") == "payment"]
    return {"url": collector, "payment_mean_ms": sum(payment) / len(payment) / 1000}


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_orders_json_csv_table_and_html(posted, tmp_path):
    url = posted["url"]
    html = tmp_path / "report.html"
    # a small page size makes the client walk the window backwards with endTs
    res = run("orders", "--zipkin", url, "--since", "1h", "--limit", "25", "--format", "json",
              "--html", str(html))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["traces"] == N
    assert doc["hops"][0]["hop"] == "payment"
    assert doc["hops"][0]["cp_mean_ms"] == pytest.approx(posted["payment_mean_ms"], rel=1e-6)
    assert {h["hop"] for h in doc["hops"]} == {"payment", "product", "customer", "postgresql",
                                              "rabbitmq"}
    total = sum(h["cp_share"] for h in doc["hops"] + doc["local"])
    assert total == pytest.approx(1.0)
    assert doc["async"][0]["service"] == "notification"

    page = html.read_text()
    assert not re.search(r"<script[^>]+src=", page)
    assert "Plotly.newPlot" in page
    assert f"{doc['hops'][0]['cp_mean_ms']:.2f}" in page
    assert f"{url}/zipkin/traces/" in page

    res = run("orders", "--zipkin", url, "--format", "csv", "--no-html")
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert rows[0]["hop"] == "payment"
    assert float(rows[0]["cp_mean_ms"]) == pytest.approx(posted["payment_mean_ms"], rel=1e-6)

    res = run("orders", "--zipkin", url, "--no-html")
    assert res.exit_code == 0
    assert "payment" in res.output and f"{posted['payment_mean_ms']:.2f}" in res.output


def test_fetch_then_from_file_and_diff(posted, tmp_path):
    saved = tmp_path / "traces.json"
    res = run("fetch", "--zipkin", posted["url"], "--limit", "50", "-o", str(saved))
    assert res.exit_code == 0, res.output
    res = run("orders", "--from-file", str(saved), "--format", "json", "--no-html")
    assert json.loads(res.output)["traces"] == N
    res = run("diff", "--baseline", str(saved), "--current", str(saved), "--format", "json")
    doc = json.loads(res.output)
    assert not any(c["significant"] for c in doc["changes"])
    assert doc["summary"].startswith("no significant change")


def test_unreachable_zipkin_exits_2_with_one_line():
    res = CliRunner().invoke(main, ["orders", "--zipkin", "http://127.0.0.1:9", "--no-html"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "http://127.0.0.1:9/api/v2/traces" in lines[0]
    assert "connection refused" in lines[0]


def test_garbage_answer_exits_2():
    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not zipkin</html>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        res = CliRunner().invoke(main, ["orders", "--zipkin", url, "--no-html"])
    finally:
        server.shutdown()
    assert res.exit_code == 2
    assert "not JSON" in res.output and url in res.output
