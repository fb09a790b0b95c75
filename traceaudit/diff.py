"""Baseline vs current: which hop got slower, with bootstrap confidence intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from traceaudit.hops import OrderAnalysis

TOTAL = "(order total)"


def _samples(analysis: OrderAnalysis) -> dict[str, np.ndarray]:
    out = {TOTAL: analysis.traces["duration_us"].to_numpy(dtype=float) / 1000}
    for hop, calls in analysis.calls.groupby("hop", sort=False):
        out[hop] = calls["client_us"].to_numpy(dtype=float) / 1000
    return out


def bootstrap_delta(base: np.ndarray, cur: np.ndarray, q: float, *, resamples: int = 1000,
                    confidence: float = 0.95, rng: np.random.Generator | None = None,
                    max_n: int = 4000) -> tuple[float, float, float]:
    """Difference of the q-quantiles (current − baseline) and its percentile-bootstrap CI."""
    rng = rng or np.random.default_rng(0)
    delta = float(np.quantile(cur, q) - np.quantile(base, q))

    def boot(x: np.ndarray) -> np.ndarray:
        n = len(x)
        size = min(n, max_n)  # a fixed-size resample keeps memory flat for huge samples
        idx = rng.integers(0, n, size=(resamples, size))
        return np.quantile(x[idx], q, axis=1)

    diffs = boot(cur) - boot(base)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    return delta, float(lo), float(hi)


def diff_table(baseline: OrderAnalysis, current: OrderAnalysis, *, resamples: int = 1000,
               confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per hop (and the order total): p50/p95 before and after, the change and its CI."""
    rng = np.random.default_rng(seed)
    base, cur = _samples(baseline), _samples(current)
    rows = []
    for hop in [h for h in cur if h in base] + [h for h in base if h not in cur] + \
            [h for h in cur if h not in base]:
        b, c = base.get(hop, np.empty(0)), cur.get(hop, np.empty(0))
        row: dict = {"hop": hop, "baseline_calls": len(b), "current_calls": len(c)}
        verdicts = []
        for q in (0.5, 0.95):
            tag = f"p{int(q * 100)}"
            if len(b) < 2 or len(c) < 2:
                row.update({f"baseline_{tag}_ms": np.nan, f"current_{tag}_ms": np.nan,
                            f"delta_{tag}_ms": np.nan, f"ci_{tag}_low_ms": np.nan,
                            f"ci_{tag}_high_ms": np.nan})
                continue
            delta, lo, hi = bootstrap_delta(b, c, q, resamples=resamples,
                                            confidence=confidence, rng=rng)
            row.update({f"baseline_{tag}_ms": float(np.quantile(b, q)),
                        f"current_{tag}_ms": float(np.quantile(c, q)),
                        f"delta_{tag}_ms": delta, f"ci_{tag}_low_ms": lo,
                        f"ci_{tag}_high_ms": hi})
            if lo > 0:
                verdicts.append("slower")
            elif hi < 0:
                verdicts.append("faster")
        row["verdict"] = ("only in baseline" if not len(c) else "only in current" if not len(b)
                          else verdicts[0] if verdicts and len(set(verdicts)) == 1
                          else "mixed" if verdicts else "no significant change")
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values("delta_p95_ms", ascending=False, key=lambda s: s.abs(),
                                  na_position="last", kind="stable").reset_index(drop=True)
    return table
