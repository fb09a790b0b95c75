"""Baseline vs current: what changed and why — slowdowns, failures and outages, per hop.

`compare()` turns two analysed windows into a `Diff`: every hop × measure (critical-path
latency per order, errors per call, calls per order) tested with bootstrap CIs, Holm across all
of them, a minimum practical effect and a drift check (`significance`); the order total as a
header; the mix of order answers (`outcomes`); and the verdict — culprit hop, kind, a sentence,
evidence from span events and tags, example traces (`why`). Every output format is made from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from traceaudit.hops import OrderAnalysis
from traceaudit.outcomes import Sample, outcome_mix, sample
from traceaudit.significance import Change, Effect, Total
from traceaudit.significance import compare as test_changes
from traceaudit.why import Verdict, attribute, changed_evidence, evidence_items, explain

TOTAL = "(order total)"
CHANGE_COLUMNS = ["rank", "hop", "measure", "direction", "significant", "baseline", "current",
                  "estimate", "ci_low", "ci_high", "beyond_drift", "p_holm", "min_effect",
                  "local"]


@dataclass
class Diff:
    """Everything the diff outputs are made of."""

    baseline: Sample
    current: Sample
    changes: list[Change]  # ranked: significant worse first
    total: Total
    outcomes: pd.DataFrame  # order answers: share before/after
    evidence: pd.DataFrame  # bucket, item, baseline_share, current_share, delta_share
    verdict: Verdict
    confidence: float

    @property
    def summary(self) -> str:
        return self.verdict.summary

    def table(self) -> pd.DataFrame:
        """The ranked changes, one row per hop × measure."""
        rows = [{"rank": i, **c.as_dict()} for i, c in enumerate(self.changes, 1)]
        return pd.DataFrame(rows, columns=CHANGE_COLUMNS) if rows else \
            pd.DataFrame(columns=CHANGE_COLUMNS)

    def as_dict(self) -> dict:
        """The JSON document (without the sources, which the caller adds)."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "summary": self.summary,
            "culprit": {"hop": self.verdict.hop, "kind": self.verdict.kind,
                        "evidence": self.verdict.evidence,
                        "examples": self.verdict.examples},
            "order": {k: clean(v) for k, v in self.total.__dict__.items()},
            "baseline": {"traces": self.baseline.n},
            "current": {"traces": self.current.n},
            "confidence": self.confidence,
            "changes": [{"rank": i, "hop": c.hop, "measure": c.measure,
                         "direction": c.direction, "significant": c.significant,
                         "baseline": clean(c.baseline), "current": clean(c.current),
                         "estimate": clean(c.estimate), "ci": [clean(c.ci_low), clean(c.ci_high)],
                         "beyond_drift": clean(c.beyond_drift), "p_holm": clean(c.p_holm),
                         "min_effect": clean(c.min_effect), "local": c.local}
                        for i, c in enumerate(self.changes, 1)],
            "outcomes": [{k: clean(v.item() if hasattr(v, "item") else v)
                          for k, v in row.items()}
                         for row in self.outcomes.to_dict("records")],
            "evidence": [{k: clean(v.item() if hasattr(v, "item") else v)
                          for k, v in row.items()}
                         for row in self.evidence.to_dict("records")],
        }


def compare(baseline: OrderAnalysis, current: OrderAnalysis, *,
            baseline_traces: Iterable | None = None, current_traces: Iterable | None = None,
            resamples: int = 1000, confidence: float = 0.95, alpha: float = 0.05,
            effect: Effect | None = None, seed: int = 0) -> Diff:
    """What changed between two analysed windows, and why.

    `*_traces`, the raw Zipkin v2 traces of each window, are read for evidence (span events
    and tags); without them the verdict rests on timings, statuses and calls alone.
    """
    base, cur = sample(baseline), sample(current)
    hops = sorted(set(base.hops) | set(cur.hops))
    buckets = hops + sorted((set(base.buckets) | set(cur.buckets)) - set(hops))
    base, cur = base.aligned(buckets, hops), cur.aligned(buckets, hops)
    changes, total = test_changes(base, cur, resamples=resamples, confidence=confidence,
                                  alpha=alpha, effect=effect, seed=seed)
    outcomes = outcome_mix(base, cur)
    items = [attribute(evidence_items(raw), a.spans) if raw is not None else None
             for raw, a in ((baseline_traces, baseline), (current_traces, current))]
    if items[0] is not None and items[1] is not None:
        evidence = changed_evidence(items[0], items[1], base.n, cur.n, hops)
    else:
        evidence = changed_evidence(*[pd.DataFrame(columns=["trace_id", "bucket", "item"])] * 2,
                                    base.n, cur.n)
    verdict = explain(changes, total, base, cur, outcomes, evidence)
    return Diff(base, cur, changes, total, outcomes, evidence, verdict, confidence)


def diff_table(baseline: OrderAnalysis, current: OrderAnalysis, *, resamples: int = 1000,
               confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """The ranked changes of `compare()` as a table (one row per hop × measure)."""
    return compare(baseline, current, resamples=resamples, confidence=confidence,
                   seed=seed).table()
