"""Known answers on generated order traces."""

from __future__ import annotations

import random

import pytest

from traceaudit import analyse, hop_table, spans_frame
from traceaudit._synth import order_trace, order_traces


def test_slow_hop_ranks_first_with_its_critical_path_time():
    traces = list(order_traces(200, slow={"customer": 40_000}))
    a = analyse(spans_frame(traces))
    assert a.caller == "order"
    table = hop_table(a)
    top = table.iloc[0]
    assert top["hop"] == "customer"
    # sequential calls: the whole client span of each call is on the critical path
    expected = a.calls.loc[a.calls["hop"] == "customer", "client_us"].mean() / 1000
    assert top["cp_mean_ms"] == pytest.approx(expected, rel=1e-9)
    assert table["cp_share"].sum() == pytest.approx(1.0)
    assert (a.attribution.groupby("trace_id", observed=True)["cp_us"].sum().sort_index()
            == a.traces.set_index("trace_id")["duration_us"].sort_index()).all()


def test_a_parallel_hop_that_is_shorter_costs_nothing():
    rnd = random.Random(5)
    traces = [order_trace(rnd, 1_767_000_000_000_000 + i * 10_000, parallel_checks=True,
                          slow={"product": 30_000}) for i in range(100)]
    table = hop_table(analyse(spans_frame(traces))).set_index("hop")
    assert table.loc["customer", "cp_mean_ms"] == 0
    assert "off the critical path in 100%" in table.loc["customer", "note"]
    assert table.loc["product", "on_cp_share"] == 1.0


def test_async_consumer_is_reported_apart_and_not_in_order_latency():
    traces = list(order_traces(50, late_consumer_us=500_000))
    a = analyse(spans_frame(traces))
    roots = [s for t in traces for s in t if s["localEndpoint"]["serviceName"] == "gateway"
             and "parentId" not in s]
    assert sorted(a.traces["duration_us"]) == sorted(s["duration"] for s in roots)
    assert set(a.asynchronous["service"]) == {"notification"}
    assert (a.asynchronous["after_order_us"] > 0).all()
    assert "notification" not in set(hop_table(a)["hop"])


def test_errors_and_hop_overrides():
    traces = list(order_traces(20, error_hop="payment"))
    table = hop_table(analyse(spans_frame(traces), hop_names={"checkout": "payment"}))
    row = table.set_index("hop").loc["checkout"]
    assert row["error_rate"] == 1.0
