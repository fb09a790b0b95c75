"""Per-hop tests on hand-made samples: estimates, Holm, minimum effect, drift, ranking."""

from __future__ import annotations

import numpy as np
import pytest

from traceaudit.outcomes import Sample
from traceaudit.significance import compare, holm

BUCKETS = ["customer", "payment", "product", "gateway (self)", "order (self)"]
HOPS = ["customer", "payment", "product"]


def window(n: int = 60, *, customer=(8, 10, 12), payment=(28, 30, 32), product=(18, 20, 22),
           gateway=(2,), order=(4,), scale: float = 1.0, payment_errors: int = 0,
           payment_missing: int = 0) -> Sample:
    """`n` orders whose per-hop critical-path ms cycle through the given values."""
    cols = [customer, payment, product, gateway, order]
    cp = np.array([[c[i % len(c)] for c in cols] for i in range(n)], dtype=float) * scale
    calls = np.ones((n, 3), dtype=np.int64)
    calls[:payment_missing, 1] = 0
    cp[:payment_missing, 1] = 0
    errors = np.zeros((n, 3), dtype=np.int64)
    errors[payment_missing:payment_missing + payment_errors, 1] = 1
    return Sample(np.array([f"{i:016x}" for i in range(n)]), np.arange(n) * 1_000_000,
                  cp.sum(axis=1), np.full(n, "200", dtype=object), BUCKETS, cp, HOPS, calls,
                  errors, np.zeros_like(errors), np.zeros_like(errors),
                  np.ones((n, 3), dtype=bool))


def by(changes, hop, measure):
    return next(c for c in changes if c.hop == hop and c.measure == measure)


def test_holm_by_hand():
    # sorted: .005×4 = .02, .01×3 = .03, .03×2 = .06, .04×1 = .04 → running max .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_pure_slowdown_is_the_hop_and_all_of_the_order_change():
    changes, total = compare(window(), window(customer=(28, 30, 32)))
    top = changes[0]
    assert (top.hop, top.measure, top.direction, top.significant) == \
        ("customer", "latency", "worse", True)
    assert top.estimate == pytest.approx(20.0)  # means 10 → 30
    assert top.ci_low <= 20.0 <= top.ci_high
    assert total.estimate_ms == pytest.approx(20.0)  # 66 → 86
    assert total.drift == pytest.approx(1.0)  # median of 3, 1, 1, 1, 1
    assert [c for c in changes if c.significant] == [top]


def test_common_drift_blames_no_hop():
    changes, total = compare(window(), window(scale=1.3))
    assert total.drift == pytest.approx(1.3)
    assert total.estimate_ms == pytest.approx(0.3 * 66)
    assert not any(c.significant for c in changes)
    assert by(changes, "payment", "latency").beyond_drift == pytest.approx(0.0, abs=1e-9)


def test_a_change_below_the_minimum_effect_is_not_significant():
    changes, _ = compare(window(), window(customer=(11, 13, 15)))
    c = by(changes, "customer", "latency")
    assert c.estimate == pytest.approx(3.0)
    assert c.p_holm < 0.05  # clear, but smaller than max(5 ms, 10% of 10 ms)
    assert c.min_effect == pytest.approx(5.0)
    assert not c.significant


def test_error_burst_and_vanishing_calls():
    changes, _ = compare(window(n=100), window(n=100, payment_errors=30))
    errors = by(changes, "payment", "errors")
    assert (errors.baseline, errors.current, errors.estimate) == (0.0, 0.3, pytest.approx(0.3))
    assert errors.significant and errors.direction == "worse"
    assert errors.score == pytest.approx(0.3)  # errors per order
    assert changes[0] is errors

    changes, _ = compare(window(n=100), window(n=100, payment_missing=90))
    calls = by(changes, "payment", "calls")
    assert calls.estimate == pytest.approx(-0.9)  # 1 → 10/100 calls per order
    assert calls.significant and calls.direction == "worse"
    assert calls.score == pytest.approx(0.9)
    assert changes[0] is calls
    # the vanished calls also make payment "faster": a significant change, but ranked after
    faster = by(changes, "payment", "latency")
    assert faster.significant and faster.direction == "better"
    assert changes.index(faster) > changes.index(calls)


def test_a_side_effect_speed_up_ranks_below_the_slowdown():
    changes, total = compare(window(), window(customer=(38, 40, 42), product=(6, 8, 10)))
    assert total.estimate_ms == pytest.approx(30 - 12)
    assert (changes[0].hop, changes[0].direction) == ("customer", "worse")
    product = by(changes, "product", "latency")
    assert product.estimate == pytest.approx(-12.0)
    assert product.significant and product.direction == "better"
    assert changes.index(product) == 1


def test_identical_windows_have_no_significant_change():
    changes, total = compare(window(), window())
    assert not any(c.significant for c in changes)
    assert total.estimate_ms == 0.0


def test_a_hop_that_kept_still_while_the_others_drifted_is_not_blamed():
    cur = window(scale=1.3)
    cur.cp_ms[:, 1] = window().cp_ms[:, 1]  # payment as before: 28/30/32
    cur.total_ms = cur.cp_ms.sum(axis=1)
    changes, total = compare(window(), cur)
    assert total.drift == pytest.approx(1.3)
    pay = by(changes, "payment", "latency")
    assert pay.estimate == pytest.approx(0.0)
    assert pay.beyond_drift == pytest.approx(30 - 1.3 * 30)  # -9 ms beyond the drift
    assert not pay.significant
    assert not any(c.significant for c in changes)
