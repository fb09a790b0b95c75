"""Answers, failures and outages per trace and hop, on hand-built traces (see `_windows`)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.traceaudit._windows import order
from traceaudit.hops import analyse
from traceaudit.outcomes import call_status, hop_failures, order_outcomes, outcome_mix, sample
from traceaudit.spans import spans_frame


@pytest.fixture(scope="module")
def analysis():
    return analyse(spans_frame([
        order(0),                                                  # 200, all three calls ok
        order(1, payment=None, status=202),                        # breaker open: no call
        order(2, payment=1, payment_status=None, status=202),      # refused: no server span
        order(3, product_status=409, status=409),                  # out of stock: stops there
        order(4, payment_status=500, status=202),                  # payment answers 500
    ]))


def test_each_call_gets_its_status_and_failure_kind(analysis):
    st = call_status(analysis).sort_values(["trace_id", "hop"]).reset_index(drop=True)
    got = {(t[-1], h): (s, a, f) for t, h, s, a, f in
           st[["trace_id", "hop", "status", "answered", "failure"]].itertuples(index=False)}
    assert got[("1", "payment")] == (200, True, "")
    assert ("2", "payment") not in got
    assert got[("3", "payment")] == (0, False, "transport")
    assert got[("4", "product")] == (409, True, "client")
    assert ("4", "payment") not in got
    assert got[("5", "payment")] == (500, True, "server")
    assert len(st) == 3 + 2 + 3 + 2 + 3


def test_order_answers_come_from_the_root_span(analysis):
    assert order_outcomes(analysis).tolist() == ["200", "202", "202", "409", "202"]


def test_sample_counts_per_trace_and_hop(analysis):
    s = sample(analysis)
    assert s.hops == ["customer", "payment", "product"]
    assert s.buckets[:3] == s.hops and set(s.buckets[3:]) == {"gateway (self)", "order (self)"}
    pay = s.hops.index("payment")
    assert s.calls[:, pay].tolist() == [1, 0, 1, 0, 1]
    assert s.server_errors[:, pay].tolist() == [0, 0, 1, 0, 1]
    assert s.transport_errors[:, pay].tolist() == [0, 0, 1, 0, 0]
    # payment is not expected where product refused the order (409)
    assert s.expected[:, pay].tolist() == [True, True, True, False, True]
    # customer is not expected where another hop failed (traces 3, 4 and 5)
    assert s.expected[:, s.hops.index("customer")].tolist() == [True, True, False, False, False]
    prod = s.hops.index("product")
    assert s.client_errors[:, prod].tolist() == [0, 0, 0, 1, 0]
    # critical path: customer 10, product 20, payment 30 (1 when refused), self 2 + 4 (3)
    assert s.cp_ms[0].tolist() == [10, 30, 20, 2, 4]
    assert s.cp_ms[1].tolist() == [10, 0, 20, 2, 3]
    assert s.cp_ms[2].tolist() == [10, 1, 20, 2, 4]
    assert s.total_ms.tolist() == [66, 35, 37, 35, 66]
    np.testing.assert_allclose(s.cp_ms.sum(axis=1), s.total_ms)


def test_failures_per_hop(analysis):
    f = hop_failures(sample(analysis)).set_index("hop")
    # payment: 3 calls in the 4 orders that expected one; 2 failed (500, refused), 1 refused
    assert f.loc["payment", "calls"] == 3
    assert f.loc["payment", "calls_per_order"] == pytest.approx(3 / 4)
    assert f.loc["payment", "error_rate"] == pytest.approx(2 / 3)
    assert f.loc["payment", "transport_error_rate"] == pytest.approx(1 / 3)
    # product: the 409 is a client error, not an error
    assert f.loc["product", "error_rate"] == 0
    assert f.loc["product", "client_error_rate"] == pytest.approx(1 / 5)


def test_outcome_mix(analysis):
    s = sample(analysis)
    base = analyse(spans_frame([order(10 + i) for i in range(4)]))
    mix = outcome_mix(sample(base), s).set_index("outcome")
    assert mix.loc["202", "current_share"] == pytest.approx(3 / 5)
    assert mix.loc["200", "baseline_share"] == 1.0
    assert mix.loc["200", "delta_share"] == pytest.approx(1 / 5 - 1)
    assert mix.index[0] == "202"


def test_a_timed_out_call_and_a_refused_request():
    a = analyse(spans_frame([order(0, timeout_hop="product", product=3000, payment=None,
                                   status=503),
                             order(1, invalid=True)]))
    st = call_status(a)
    product = st[st["hop"] == "product"].iloc[0]
    # the server answered 200, but the client gave up without a status of its own
    assert (product["status"], product["answered"], product["failure"]) == (200, True, "timeout")
    s = sample(a)
    j = s.hops.index("product")
    assert s.timeouts[:, j].tolist() == [1, 0]
    assert s.server_errors[:, j].tolist() == [1, 0]  # a timeout is a failure of the callee
    # the refused request (400, no call failed) expects no call at all
    assert s.outcome.tolist() == ["503", "400"]
    assert s.hops == ["customer", "product"] and s.expected[1].tolist() == [False, False]
