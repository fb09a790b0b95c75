"""Discovery: the root endpoints present in some traces, so a user can pick one to analyse.

A root endpoint is the (service, span name) of a trace's root span: a span with no parent id
(or whose only parent is the client half of its own shared span). Orphans are not roots.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from traceaudit.tree import build_tree

COLUMNS = ["service", "span", "traces", "p50_ms", "p95_ms"]


def endpoints(spans: pd.DataFrame) -> pd.DataFrame:
    """Per root (service, span name): traces, and p50/p95 of the root's duration (ms)."""
    if not len(spans):
        return pd.DataFrame(columns=COLUMNS)
    tree = build_tree(spans)
    root = (tree.parent < 0) & ~tree.orphan
    frame = pd.DataFrame({
        "trace": tree.trace[root],
        "service": spans["service"].astype(object).to_numpy()[root],
        "span": spans["name"].astype(object).to_numpy()[root],
        "duration_us": spans["duration_us"].astype("float64").to_numpy()[root],
    }).dropna(subset=["service", "span"])
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    g = frame.groupby(["service", "span"], sort=False)
    out = pd.DataFrame({
        "traces": g["trace"].nunique(),
        "p50_ms": g["duration_us"].quantile(0.5) / 1000,
        "p95_ms": g["duration_us"].quantile(0.95) / 1000,
    }).reset_index()
    out = out.sort_values(["traces", "service", "span"], ascending=[False, True, True],
                          kind="stable")
    return out[COLUMNS].reset_index(drop=True)


def closest(table: pd.DataFrame, service: str, span: str, n: int = 5) -> pd.DataFrame:
    """The endpoints of `table` most like `service`/`span` (by name similarity, then traces)."""
    if table.empty:
        return table
    want_service, want_span = service.lower(), span.lower()

    def score(row) -> float:
        s = difflib.SequenceMatcher(None, want_service, str(row.service)).ratio()
        p = difflib.SequenceMatcher(None, want_span, str(row.span)).ratio()
        return s + p + (1.0 if row.service == want_service else 0.0)

    scores = np.array([score(r) for r in table.itertuples()], dtype=float)
    order = np.lexsort((-table["traces"].to_numpy(), -scores))
    return table.iloc[order[:n]].reset_index(drop=True)

