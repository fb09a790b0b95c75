"""Every format with zero, one and many hops: nothing crashes, nothing is dropped."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.traceaudit import foreign_shapes as fs
from traceaudit import analyse, render_report, spans_frame
from traceaudit._synth import order_traces
from traceaudit.cli import main
from traceaudit.render import RENDERERS, orders_doc, render

SHAPES = {"zero": [fs.alone()], "one": [fs.one_downstream()],
          "many": list(order_traces(30, seed=2))}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fmt", RENDERERS)
def test_every_format_shows_hops_traces_and_oddities(shape, fmt):
    a = analyse(spans_frame(SHAPES[shape]))
    doc = orders_doc(a, by_operation=True)
    assert len(doc["hops"]) == {"zero": 0, "one": 1, "many": 5}[shape]
    out = render(doc, fmt)
    assert "gateway (self)" in out or "gateway" in out
    if fmt == "json":
        back = json.loads(out)
        assert back["traces"] == len(SHAPES[shape]) and "anomalies" in back
    if fmt in ("csv", "markdown", "table"):
        assert str(len(SHAPES[shape])) in out
    if shape == "many" and fmt != "json":  # generated ids are 128-bit: no oddity there, but
        assert "notification" in out  # the async work is shown


def test_oddities_appear_in_every_format():
    a = analyse(spans_frame(fs.b3_shared()), service="front")
    doc = orders_doc(a)
    for fmt in RENDERERS:
        out = render(doc, fmt)
        assert "shared_spans" in out and "5" * 16 in out, fmt
    rows = list(csv.reader(io.StringIO(render(doc, "csv"))))
    assert ["# anomalies"] in rows


def test_html_report_with_zero_hops(tmp_path):
    a = analyse(spans_frame([fs.alone()]))
    page = render_report(a, tmp_path / "r.html").read_text()
    assert 'id="no-hops"' in page and "gateway (self)" in page


def test_cli_markdown_and_csv_with_zero_hops(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([fs.alone()]))
    for fmt in ("markdown", "csv", "table"):
        res = CliRunner().invoke(main, ["orders", "--from-file", str(path), "--format", fmt,
                                        "--html", str(tmp_path / "r.html")])
        assert res.exit_code == 0, res.output
        assert "gateway (self)" in res.output
    assert (tmp_path / "r.html").is_file()


def test_a_failing_hop_is_ranked_first_with_answers_and_4xx_apart():
    from tests.traceaudit._windows import order

    traces = ([order(i, payment=5) for i in range(10)]
              + [order(10 + i, payment=2, payment_status=500, status=202) for i in range(5)]
              + [order(15 + i, payment=None, status=202) for i in range(5)]
              + [order(20 + i, product_status=409, status=409) for i in range(2)])
    doc = orders_doc(analyse(spans_frame(traces)))
    hops = {h["hop"]: h for h in doc["hops"]}
    # by critical path payment is third: (10 × 5 + 5 × 2) / 22 = 2.7 ms < customer 10 < product
    assert hops["payment"]["cp_mean_ms"] == pytest.approx(60 / 22)
    assert [h["hop"] for h in doc["hops"]] == ["payment", "product", "customer"]
    assert [h["rank"] for h in doc["hops"]] == [1, 2, 3]
    assert hops["payment"]["error_rate"] == pytest.approx(5 / 15)
    assert hops["payment"]["note"].startswith("fails 33% of its calls")
    assert hops["product"]["error_rate"] == 0  # the two 409s are the caller's errors
    assert hops["product"]["client_error_rate"] == pytest.approx(2 / 22)
    assert doc["outcomes"] == [{"outcome": "200", "traces": 10, "share": 10 / 22},
                               {"outcome": "202", "traces": 10, "share": 10 / 22},
                               {"outcome": "409", "traces": 2, "share": 2 / 22}]
    assert "answers: 200 45%, 202 45%, 409 9%" in render(doc, "table")
    assert "# outcomes\noutcome,traces,share\n200,10," in render(doc, "csv")
    assert "Answers: 200 45%, 202 45%, 409 9%" in render(doc, "markdown")
