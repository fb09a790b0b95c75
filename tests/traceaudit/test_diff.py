"""`compare()` and `traceaudit diff` on generated windows with known answers (see `_windows`).

Baseline: 60 orders, customer 8/10/12 ms, product 18/20/22/20 ms, payment 30 ms, gateway's own
work 2 ms, order's own 4 ms: the order takes 66 ms on average.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.traceaudit._windows import order
from traceaudit.cli import main
from traceaudit.diff import compare
from traceaudit.hops import analyse
from traceaudit.spans import spans_frame

N = 60


def window(first: int, *, scale: float = 1.0, customer_plus: float = 0, product_plus: float = 0,
           **kw) -> list[list[dict]]:
    return [order(first + i, customer=((8, 10, 12)[i % 3] + customer_plus) * scale,
                  product=((18, 20, 22, 20)[i % 4] + product_plus) * scale,
                  payment=30 * scale, **kw) for i in range(N)]


def diff(base, cur):
    return compare(analyse(spans_frame(base)), analyse(spans_frame(cur)),
                   baseline_traces=base, current_traces=cur)


@pytest.fixture(scope="module")
def base():
    return window(0)


def significant(d):
    return [(c.hop, c.measure, c.direction) for c in d.changes if c.significant]


def test_pure_slowdown(base):
    d = diff(base, window(1000, customer_plus=50))
    assert d.verdict.hop == "customer" and d.verdict.kind == "latency"
    assert significant(d) == [("customer", "latency", "worse")]
    assert d.total.baseline_ms == pytest.approx(66.0)
    assert d.total.estimate_ms == pytest.approx(50.0)
    assert d.summary.startswith("customer +50.0 ms per order [")
    assert d.summary.endswith("= 100% of the order's +50.0 ms")


def test_outage_calls_vanish(base):
    cur = [order(2000 + i, payment=None, status=202) for i in range(N)]
    d = diff(base, cur)
    assert (d.verdict.hop, d.verdict.kind) == ("payment", "unreachable")
    assert ("payment", "calls", "worse") in significant(d)
    assert d.changes[0].hop == "payment" and d.changes[0].measure == "calls"
    assert d.changes[0].estimate == pytest.approx(-1.0)
    assert d.total.estimate_ms == pytest.approx(-31.0)  # 30 ms payment + 1 ms gap gone
    mix = d.outcomes.set_index("outcome")
    assert mix.loc["202", "current_share"] == 1.0 and mix.loc["200", "current_share"] == 0.0


def test_error_burst(base):
    cur = [
        order(3000 + i, payment_status=503 if i % 3 == 0 else 200,
              status=202 if i % 3 == 0 else 200) for i in range(N)]
    d = diff(base, cur)
    assert (d.verdict.hop, d.verdict.kind) == ("payment", "errors")
    errors = next(c for c in d.changes if c.hop == "payment" and c.measure == "errors")
    assert errors.current == pytest.approx(1 / 3) and errors.significant
    assert d.changes[0] is errors


def test_side_effect_speed_up_elsewhere(base):
    d = diff(base, window(4000, customer_plus=40, product_plus=-10))
    assert d.changes[0].hop == "customer" and d.changes[0].direction == "worse"
    assert significant(d) == [("customer", "latency", "worse"),
                              ("product", "latency", "better")]
    assert d.total.estimate_ms == pytest.approx(30.0)
    assert d.verdict.hop == "customer"


def test_a_a_windows_with_a_common_drift(base):
    d = diff(base, window(5000, scale=1.25))
    assert significant(d) == []
    assert d.verdict.hop is None
    assert d.total.drift == pytest.approx(1.25, rel=0.02)
    assert d.summary.startswith("no significant change (order +15.")


def test_json_lists_changes_in_rank_order(base):
    d = diff(base, window(6000, customer_plus=50))
    doc = d.as_dict()
    assert doc["summary"] == d.summary
    first = doc["changes"][0]
    assert (first["hop"], first["measure"], first["direction"], first["significant"]) == \
        ("customer", "latency", "worse", True)
    assert first["estimate"] == pytest.approx(50.0)
    assert first["ci"][0] <= 50.0 <= first["ci"][1]
    assert [c["rank"] for c in doc["changes"]] == list(range(1, len(doc["changes"]) + 1))
    assert all(c["hop"] != "(order total)" for c in doc["changes"])


def test_cli_diff_in_every_format(base, tmp_path):
    b, c = tmp_path / "b.json", tmp_path / "c.json"
    b.write_text(json.dumps(base))
    c.write_text(json.dumps(window(7000, customer_plus=50)))
    run = CliRunner().invoke
    args = ["diff", "--baseline", str(b), "--current", str(c), "--resamples", "200"]

    res = run(main, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["changes"][0]["hop"] == "customer"
    assert doc["baseline"] == {"traces": N, "source": str(b)}

    res = run(main, [*args, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert (rows[0]["hop"], rows[0]["measure"], rows[0]["significant"]) == \
        ("customer", "latency", "True")

    res = run(main, [*args, "--format", "markdown"])
    assert res.output.startswith("**customer +50.0 ms per order")
    assert "| rank | hop | measure |" in res.output

    html = tmp_path / "d.html"
    res = run(main, [*args, "--html", str(html)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].startswith("customer +50.0 ms per order")
    assert "order answers: 200 100% → 100%" in res.output
    assert html.is_file() and "customer +50.0 ms per order" in html.read_text()


def test_orders_failing_on_their_own_blame_the_callers_own_work(base):
    # a third of the orders answer 503 before making any call (order's own work broke)
    cur = [order(8000 + i, invalid=True, status=503) if i % 3 == 0 else order(8000 + i)
           for i in range(N)]
    d = diff(base, cur)
    assert (d.verdict.hop, d.verdict.kind) == ("order (self)", "errors")
    own = d.changes[0]
    assert (own.hop, own.measure, own.baseline, own.current) == \
        ("order (self)", "errors", 0.0, pytest.approx(1 / 3))
    # the calls those orders never made are not an outage of the hops
    assert not any(c.significant for c in d.changes if c.measure == "calls")
    assert d.summary.startswith("order (self): errors 0% → 33%")
