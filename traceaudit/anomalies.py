"""Data-quality accounting: every oddity met in the traces, counted per kind with examples.

An analysis carries `{kind: {"count": n, "examples": [trace ids], "meaning": text}}`; every
output format shows it (table footer, JSON `anomalies`, a csv/markdown section, a box in HTML).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

MAX_EXAMPLES = 3

MEANINGS = {
    "trace_id_64bit": "traces with a 64-bit trace id (older B3 tracers)",
    "trace_id_halves_joined": "traces whose 64-bit and 128-bit ids were joined by their low "
                              "64 bits, as Zipkin does with STRICT_TRACE_ID=false",
    "shared_spans": "server spans sharing their client's span id (B3 shared spans)",
    "shared_backfilled": "server spans with their client's id but no shared flag, marked shared",
    "fragments_merged": "spans reported in pieces, merged into one",
    "client_without_server": "calls to an instrumented (or unnamed) service with no server span",
    "server_without_client": "server spans called without a client span (a hop all the same)",
    "server_before_client": "server spans starting no later than their client (clock skew)",
    "skew_corrected": "of those, corrected as the Zipkin UI does",
    "skew_not_corrected": "of those, not correctable (same host, or no single root)",
    "orphans": "spans whose parent is not in the trace (left out of the analysis)",
    "cycles": "spans whose parent links form a cycle (cut)",
    "self_parent": "spans naming themselves as parent",
    "duplicate_span_id": "span ids used by two unrelated spans of one trace",
    "duplicate_trace_copies": "traces read twice (the copy with more spans kept)",
    "cut_off_at_limit": "query pages full of same-millisecond traces: traces may be missing "
                        "(raise --limit)",
    "caller_differs": "traces whose own caller differs from the majority caller",
    "caller_absent": "traces in which the caller does not serve the operation (left out)",
    "traces_without_root_span": "traces in the window without the analysed root span",
    "outlive_parent": "blocking spans ending after their parent (clipped)",
    "outside_parent_dropped": "spans entirely outside their parent (off the critical path)",
    "missing_timestamp": "spans without a timestamp",
    "missing_duration": "spans without a duration",
    "bad_span": "spans that are not valid Zipkin v2 (dropped)",
    "bad_trace": "traces that are not lists of spans (dropped)",
    "unknown_kind": "spans with a kind Zipkin does not know (kept without kind)",
    "no_service": "spans without a local service name",
}


class Anomalies:
    """A counter of oddities that keeps a few example trace ids per kind."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, kind: str, count: int, examples: Iterable = ()) -> None:
        """Count `count` more of `kind`; remember up to MAX_EXAMPLES distinct trace ids."""
        count = int(count)
        if count <= 0:
            return
        self.counts[kind] += count
        have = self.examples.setdefault(kind, [])
        for trace_id in examples:
            if len(have) >= MAX_EXAMPLES:
                break
            trace_id = str(trace_id)
            if trace_id not in have:
                have.append(trace_id)

    def add_rows(self, kind: str, mask: np.ndarray, trace_ids: pd.Series,
                 count: int | None = None) -> None:
        """Count the rows in `mask` (or `count`), with examples from their trace ids."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        self.add(kind, len(rows) if count is None else count, _first_traces(trace_ids, rows))

    def update(self, counts: dict, examples: dict | None = None) -> None:
        for kind, count in counts.items():
            self.add(kind, count, (examples or {}).get(kind, ()))

    def as_dict(self) -> dict[str, dict]:
        """`{kind: {"count", "examples", "meaning"}}`, the known kinds first."""
        known = [k for k in MEANINGS if self.counts.get(k)]
        other = sorted(k for k in self.counts if k not in MEANINGS and self.counts[k])
        return {k: {"count": int(self.counts[k]), "examples": self.examples.get(k, []),
                    "meaning": MEANINGS.get(k, k.replace("_", " "))} for k in known + other}


def _first_traces(trace_ids: pd.Series, rows: np.ndarray) -> list[str]:
    seen: list[str] = []
    for row in rows[:1000]:
        value = str(trace_ids.iat[int(row)])
        if value not in seen:
            seen.append(value)
            if len(seen) >= MAX_EXAMPLES:
                break
    return seen


def anomaly_rows(anomalies: dict[str, dict]) -> list[dict]:
    """Flat rows (kind, count, examples, meaning) for tables, csv and markdown."""
    return [{"kind": k, "count": v["count"], "examples": " ".join(v.get("examples", [])),
             "meaning": v.get("meaning", "")} for k, v in anomalies.items()]
