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


MAX_UNITS = 2000  # above this many traces, resample random groups of traces instead


def _boot_sums(rng: np.random.Generator, columns: np.ndarray, resamples: int,
               chunk: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Column sums of `resamples` bootstrap resamples of the rows (resamples × columns), and
    each resample's number of rows.

    Beyond MAX_UNITS rows, the rows are dealt at random into MAX_UNITS groups and the groups
    are resampled (for independent traces the same distribution of means, at a cost that does
    not grow with the window). Resamples are drawn `chunk` at a time.
    """
    n = len(columns)
    out = np.zeros((resamples, columns.shape[1]))
    if n == 0:
        return out, np.ones(resamples)
    sizes = np.ones(n)
    if n > MAX_UNITS:
        group = rng.permutation(n) % MAX_UNITS
        sizes = np.bincount(group, minlength=MAX_UNITS).astype(float)
        columns = np.vstack([np.bincount(group, weights=columns[:, m], minlength=MAX_UNITS)
                             for m in range(columns.shape[1])]).T
    units = len(sizes)
    p = np.full(units, 1.0 / units)
    rows = np.zeros(resamples)
    for lo in range(0, resamples, chunk):
        hi = min(resamples, lo + chunk)
        weights = rng.multinomial(units, p, size=hi - lo).astype(float)
        out[lo:hi] = weights @ columns
        rows[lo:hi] = weights @ sizes
    return out, np.maximum(rows, 1.0)


def _columns(s: Sample) -> tuple[np.ndarray, dict[str, slice]]:
    """Everything the tests need from a window's traces, side by side (one bootstrap)."""
    expected = s.expected.astype(float)
    own = s.own_failures if s.own_failures is not None else np.zeros(s.n, dtype=bool)
    parts = {"total": s.total_ms[:, None], "own": own[:, None], "cp": s.cp_ms,
             "errors": s.server_errors,
             "calls": s.calls, "made": s.calls * expected, "expected": expected}
    out, where, at = [], {}, 0
    for name, part in parts.items():
        part = np.asarray(part, dtype=float).reshape(s.n, -1)
        out.append(part)
        where[name] = slice(at, at + part.shape[1])
        at += part.shape[1]
    return np.hstack(out) if out else np.zeros((s.n, 0)), where


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
    yb, where = _columns(base)
    yc, _ = _columns(cur)
    (sb, nb), (sc, nc) = _boot_sums(rng, yb, resamples), _boot_sums(rng, yc, resamples)
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2

    def boot(sums: np.ndarray, name: str, rows: np.ndarray) -> np.ndarray:
        return sums[:, where[name]] / rows[:, None]

    def ci(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if not len(values):
            return math.nan, math.nan
        lo, hi = np.quantile(values, [lo_q, hi_q])
        return float(lo), float(hi)

    # the order total and the common drift
    tb = float(base.total_ms.mean()) if base.n else math.nan
    tc = float(cur.total_ms.mean()) if cur.n else math.nan
    total_boot = boot(sc, "total", nc)[:, 0] - boot(sb, "total", nb)[:, 0]
    mb = base.cp_ms.mean(axis=0) if base.n else np.zeros(len(base.buckets))
    mc = cur.cp_ms.mean(axis=0) if cur.n else np.zeros(len(cur.buckets))
    mb_boot, mc_boot = boot(sb, "cp", nb), boot(sc, "cp", nc)
    drift = float(_drift(mb, mc, drift_floor_ms)[0])
    drift_boot = _drift(mb_boot, mc_boot, drift_floor_ms)
    total = Total(tb, tc, tc - tb, *ci(total_boot), drift, *ci(drift_boot))
    order_ms = max(tb, 1e-9) if np.isfinite(tb) else 1.0

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
        boot_j = _ratio(sc[:, where["errors"]][:, j], sc[:, where["calls"]][:, j]) - \
            _ratio(sb[:, where["errors"]][:, j], sb[:, where["calls"]][:, j])
        est = float(rc - rb)  # NaN when a window made no call: no rate to compare
        lo, hi = ci(boot_j)
        per_order = (ec.sum() / max(cur.n, 1)) - (eb.sum() / max(base.n, 1))
        changes.append(Change(hop, "errors", float(rb), float(rc), est, lo, hi, est,
                              _p_value(est, boot_j), min_effect=effect.errors,
                              direction="" if not np.isfinite(est) else
                              "worse" if est > 0 else "better",
                              score=abs(float(per_order))))
        # calls per order that expected one
        xb, xc = base.expected[:, j].astype(float), cur.expected[:, j].astype(float)
        kb, kc = cb * xb, cc * xc
        qb = _ratio(np.array([kb.sum()]), np.array([xb.sum()]))[0]
        qc = _ratio(np.array([kc.sum()]), np.array([xc.sum()]))[0]
        boot_j = _ratio(sc[:, where["made"]][:, j], sc[:, where["expected"]][:, j]) - \
            _ratio(sb[:, where["made"]][:, j], sb[:, where["expected"]][:, j])
        est = float(qc - qb) if np.isfinite(qb) and np.isfinite(qc) else math.nan
        lo, hi = ci(boot_j)
        changes.append(Change(hop, "calls", float(qb), float(qc), est, lo, hi, est,
                              _p_value(est, boot_j),
                              min_effect=max(effect.calls_abs, effect.calls * float(
                                  np.nan_to_num(qb))),
                              direction="" if not np.isfinite(est) else
                              "worse" if est < 0 else "better",
                              score=abs(est) / max(float(np.nan_to_num(qb)), 1e-9)
                              if np.isfinite(est) else 0.0))

    # orders that failed on their own (no failed call): errors of the caller's own work
    ob = float(yb[:, where["own"]].mean()) if base.n else math.nan
    oc = float(yc[:, where["own"]].mean()) if cur.n else math.nan
    boot_own = boot(sc, "own", nc)[:, 0] - boot(sb, "own", nb)[:, 0]
    est = oc - ob
    changes.append(Change(cur.own_bucket if cur.caller else base.own_bucket, "errors", ob, oc,
                          est, *ci(boot_own), est, _p_value(est, boot_own),
                          min_effect=effect.errors,
                          direction="" if not np.isfinite(est) else
                          "worse" if est > 0 else "better",
                          score=abs(est) if np.isfinite(est) else 0.0, local=True))

    for change, adjusted in zip(changes, holm([c.p_value for c in changes]), strict=True):
        change.p_holm = adjusted
        size = abs(change.beyond_drift)
        # and the change itself, drift and all, must point the same way (its CI excludes 0):
        # a hop that merely kept still while the others drifted is not blamed
        same_way = (change.ci_low > 0 if change.beyond_drift > 0 else change.ci_high < 0) \
            if change.measure == "latency" else True
        change.significant = bool(adjusted < alpha and np.isfinite(size)
                                  and size >= change.min_effect and same_way)
    return rank(changes), total


def rank(changes: list[Change]) -> list[Change]:
    """Significant changes for the worse first, then for the better, then the rest; each group
    by how much of the order it affects."""
    group = {(True, "worse"): 0, (True, "better"): 1}
    return sorted(changes, key=lambda c: (group.get((c.significant, c.direction), 2),
                                          -c.score, c.hop, MEASURES.index(c.measure)))
