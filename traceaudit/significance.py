"""Per-hop tests between two windows that hold up: bootstrap CIs, Holm, a minimum effect, drift.

Three measures per hop, each a statistic of the window's traces, so one bootstrap resample of
the traces serves all hops and measures at once (and keeps their dependence):

- `latency`: critical-path ms per order. These add up to the order's latency, so each hop's
  change is its share of the order's change. Local work ("order (self)") is tested too.
- `errors`: server-side failures (5xx, transport errors) per call.
- `calls`: calls per order that expected one (see `outcomes`); calls that vanish mean an outage.

A change is significant when its Holm-adjusted p-value (across every hop and measure) is below
`alpha` **and** it is at least the minimum practical effect. Latency is tested beyond the common
drift: the median ratio after/before over the buckets is a shift every hop shares (a busier
machine), so a hop is only blamed for what it changed beyond that ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from traceaudit.outcomes import Sample

MEASURES = ("latency", "errors", "calls")


@dataclass(frozen=True)
class Effect:
    """The smallest changes worth reporting."""

    latency_ms: float = 5.0  # and `latency_share` of the hop's baseline time
    latency_share: float = 0.10
    errors: float = 0.02  # error rate, absolute (2 points)
    calls: float = 0.10  # calls per order, relative to the baseline (10%)
    calls_abs: float = 0.05


@dataclass
class Change:
    """One hop × measure: the estimate (after − before), its CI and the verdict."""

    hop: str
    measure: str
    baseline: float
    current: float
    estimate: float
    ci_low: float
    ci_high: float
    beyond_drift: float  # the estimate less the common drift (latency; else = estimate)
    p_value: float
    p_holm: float = 1.0
    min_effect: float = 0.0
    significant: bool = False
    direction: str = ""  # "worse" or "better" (by the sign, significant or not)
    score: float = 0.0  # how much of the order it affects (ranking), ≥ 0
    local: bool = False  # local work of a service, not a call

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in self.__dict__.items()}


@dataclass
class Total:
    """The order's own change (a header, not a ranked row)."""

    baseline_ms: float
    current_ms: float
    estimate_ms: float
    ci_low: float
    ci_high: float
    drift: float  # common after/before ratio of the buckets' critical-path time
    drift_low: float
    drift_high: float


def _weights(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """Bootstrap resamples as counts per trace (resamples × n); row sums are n."""
    if n == 0:
        return np.zeros((resamples, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _p_value(estimate: float, boot: np.ndarray) -> float:
    """Two-sided p of "no change" from the bootstrap distribution (normal approximation)."""
    boot = boot[np.isfinite(boot)]
    if not np.isfinite(estimate) or len(boot) < 2:
        return 1.0
    se = float(np.std(boot, ddof=1))
    if se == 0:
        return 1.0 if estimate == 0 else 0.0
    return float(math.erfc(abs(estimate) / se / math.sqrt(2)))


def holm(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _drift(base_means: np.ndarray, cur_means: np.ndarray, floor_ms: float) -> np.ndarray:
    """Common after/before ratio per resample: the median over buckets ≥ `floor_ms` before.

    With fewer than three such buckets no common shift can be told apart: the ratio is 1.
    """
    base_means = np.atleast_2d(base_means)
    cur_means = np.atleast_2d(cur_means)
    usable = base_means.mean(axis=0) >= floor_ms
    if usable.sum() < 3:
        return np.ones(base_means.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = cur_means[:, usable] / base_means[:, usable]
    return np.nanmedian(ratios, axis=1)


def compare(base: Sample, cur: Sample, *, resamples: int = 1000, confidence: float = 0.95,
            alpha: float = 0.05, effect: Effect | None = None, seed: int = 0,
            drift_floor_ms: float = 1.0) -> tuple[list[Change], Total]:
    """Every hop × measure change between two aligned samples, tested; and the order total.

    `base` and `cur` must have the same buckets and hops (see `Sample.aligned`).
    """
    effect = effect or Effect()
    rng = np.random.default_rng(seed)
    wb, wc = _weights(rng, base.n, resamples), _weights(rng, cur.n, resamples)
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2

    def means(w: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
        return w @ x / max(n, 1)

    def ci(boot: np.ndarray) -> tuple[float, float]:
        boot = boot[np.isfinite(boot)]
        if not len(boot):
            return math.nan, math.nan
        lo, hi = np.quantile(boot, [lo_q, hi_q])
        return float(lo), float(hi)

    # the order total and the common drift
    tb, tc = base.total_ms.mean() if base.n else math.nan, cur.total_ms.mean() if cur.n else \
        math.nan
    total_boot = means(wc, cur.total_ms, cur.n) - means(wb, base.total_ms, base.n)
    mb, mc = base.cp_ms.mean(axis=0) if base.n else np.zeros(len(base.buckets)), \
        cur.cp_ms.mean(axis=0) if cur.n else np.zeros(len(cur.buckets))
    mb_boot, mc_boot = means(wb, base.cp_ms, base.n), means(wc, cur.cp_ms, cur.n)
    drift = float(_drift(mb, mc, drift_floor_ms)[0])
    drift_boot = _drift(mb_boot, mc_boot, drift_floor_ms)
    total = Total(float(tb), float(tc), float(tc - tb), *ci(total_boot), drift, *ci(drift_boot))
    order_ms = max(float(tb), 1e-9) if np.isfinite(tb) else 1.0

    changes: list[Change] = []
    hops = set(base.hops)
    for j, bucket in enumerate(base.buckets):
        est = float(mc[j] - mb[j])
        beyond = float(mc[j] - drift * mb[j])
        boot_beyond = mc_boot[:, j] - drift_boot * mb_boot[:, j]
        lo, hi = ci(mc_boot[:, j] - mb_boot[:, j])
        changes.append(Change(
            bucket, "latency", float(mb[j]), float(mc[j]), est, lo, hi, beyond,
            _p_value(beyond, boot_beyond),
            min_effect=max(effect.latency_ms, effect.latency_share * float(mb[j])),
            direction="worse" if beyond > 0 else "better",
            score=abs(beyond) / order_ms, local=bucket not in hops))

    for j, hop in enumerate(base.hops):
        # errors per call
        eb, ec = base.server_errors[:, j], cur.server_errors[:, j]
        cb, cc = base.calls[:, j], cur.calls[:, j]
        rb = _ratio(np.array([eb.sum()]), np.array([cb.sum()]))[0]
        rc = _ratio(np.array([ec.sum()]), np.array([cc.sum()]))[0]
        boot = _ratio(wc @ ec, wc @ cc) - _ratio(wb @ eb, wb @ cb)
        est = float(rc - rb)  # NaN when a window made no call: no rate to compare
        lo, hi = ci(boot)
        per_order = (ec.sum() / max(cur.n, 1)) - (eb.sum() / max(base.n, 1))
        changes.append(Change(hop, "errors", float(rb), float(rc), est, lo, hi, est,
                              _p_value(est, boot), min_effect=effect.errors,
                              direction="worse" if est > 0 else "better",
                              score=abs(float(per_order))))
        # calls per order that expected one
        xb, xc = base.expected[:, j].astype(float), cur.expected[:, j].astype(float)
        kb, kc = cb * xb, cc * xc
        qb = _ratio(np.array([kb.sum()]), np.array([xb.sum()]))[0]
        qc = _ratio(np.array([kc.sum()]), np.array([xc.sum()]))[0]
        boot = _ratio(wc @ kc, wc @ xc) - _ratio(wb @ kb, wb @ xb)
        est = float(qc - qb) if np.isfinite(qb) and np.isfinite(qc) else math.nan
        lo, hi = ci(boot)
        changes.append(Change(hop, "calls", float(qb), float(qc), est, lo, hi, est,
                              _p_value(est, boot),
                              min_effect=max(effect.calls_abs, effect.calls * float(
                                  np.nan_to_num(qb))),
                              direction="worse" if (np.isfinite(est) and est < 0) else "better",
                              score=abs(est) / max(float(np.nan_to_num(qb)), 1e-9)
                              if np.isfinite(est) else 0.0))

    for change, adjusted in zip(changes, holm([c.p_value for c in changes]), strict=True):
        change.p_holm = adjusted
        size = abs(change.beyond_drift)
        change.significant = bool(adjusted < alpha and np.isfinite(size)
                                  and size >= change.min_effect)
    return rank(changes), total


def rank(changes: list[Change]) -> list[Change]:
    """Significant changes for the worse first, then for the better, then the rest; each group
    by how much of the order it affects."""
    group = {(True, "worse"): 0, (True, "better"): 1}
    return sorted(changes, key=lambda c: (group.get((c.significant, c.direction), 2),
                                          -c.score, c.hop, MEASURES.index(c.measure)))
