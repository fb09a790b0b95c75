"""Span trees as arrays: parent row, depth and a top-down (breadth-first) order.

Parents are resolved as Zipkin's `SpanNode` does: a shared server hangs under the client with
its id; a child whose parent id is shared attaches to the shared server on its own service, else
to the client. Everything is iterative (a 2,000-deep trace is fine) and vectorised across traces.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from traceaudit.ids import KINDS
from traceaudit.spans import id_keys

_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xC2B2AE3D27D4EB4F)


@dataclass
class Tree:
    """Parent links of the rows of a spans frame (positions, not labels)."""

    parent: np.ndarray  # int64, -1 for roots (real roots, orphans and broken cycles)
    depth: np.ndarray  # int64
    order: np.ndarray  # rows top-down: order[levels[d]:levels[d + 1]] are at depth d
    levels: np.ndarray
    trace: np.ndarray  # int64 trace code per row
    orphan: np.ndarray  # bool: has a parent id that is not in the trace
    anomalies: Counter = field(default_factory=Counter)
    anomaly_rows: dict[str, np.ndarray] = field(default_factory=dict)  # kind → bool row mask

    def level(self, d: int) -> np.ndarray:
        return self.order[self.levels[d]:self.levels[d + 1]]

    @property
    def n_levels(self) -> int:
        return len(self.levels) - 1


def _keys(trace: np.ndarray, ids: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    with np.errstate(over="ignore"):
        key = ids ^ (trace.astype(np.uint64) * _MIX)
        if extra is not None:
            key = key ^ ((extra.astype(np.uint64) + np.uint64(1)) * _MIX2)
    return key


class _Lookup:
    """(key) → row via a hash index; the first row wins when a key repeats."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray) -> None:
        self.repeated = rows[:0]
        index = pd.Index(keys)  # its hash table serves is_unique and then get_indexer
        if index.is_unique:
            self.index, self.rows = index, rows
        else:
            first = ~index.duplicated()
            self.index, self.rows = pd.Index(keys[first]), rows[first]
            self.repeated = rows[~first]
        self.repeats = len(keys) - len(self.rows)

    def find(self, keys: np.ndarray) -> np.ndarray:
        if len(self.index) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = self.index.get_indexer(keys)
        return np.where(pos >= 0, self.rows[pos], -1)


def column_codes(column: pd.Series) -> np.ndarray:
    """Integer codes of a column (-1: missing); free for a categorical."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    return pd.factorize(column)[0]


def build_tree(spans: pd.DataFrame) -> Tree:
    """Resolve parents, then order the rows top-down; cycles are broken and counted."""
    n = len(spans)
    anomalies: Counter = Counter()
    masks: dict[str, np.ndarray] = {}
    trace = column_codes(spans["trace_id"])
    sid, pid = id_keys(spans)
    kind = spans["kind"].cat.codes.to_numpy()
    shared = spans["shared"].to_numpy(dtype=bool) if "shared" in spans else np.zeros(n, bool)
    shared = shared & (kind == KINDS.index("SERVER"))
    service = column_codes(spans["service"])
    rows = np.arange(n, dtype=np.int64)

    key_id = _keys(trace, sid)
    primary = _Lookup(key_id[~shared], rows[~shared])
    by_service = _Lookup(_keys(trace, sid, service)[shared], rows[shared])
    any_shared = _Lookup(key_id[shared], rows[shared])
    if primary.repeats:
        anomalies["duplicate_span_id"] += primary.repeats
        masks["duplicate_span_id"] = np.zeros(n, dtype=bool)
        masks["duplicate_span_id"][primary.repeated] = True

    key_parent = _keys(trace, pid)
    parent = np.full(n, -1, dtype=np.int64)
    has_pid = pid != 0
    # a shared server's parent is its client (same id), else whatever its parent id names
    if shared.any():
        parent[shared] = primary.find(key_id[shared])
    todo = has_pid & (parent < 0)
    found = by_service.find(_keys(trace, pid, service)[todo])
    found = np.where(found >= 0, found, primary.find(key_parent[todo]))
    if shared.any():  # a shared span whose client was not reported still has children
        found = np.where(found >= 0, found, any_shared.find(key_parent[todo]))
    parent[todo] = found
    self_parent = parent == rows
    if self_parent.any():
        anomalies["self_parent"] += int(self_parent.sum())
        masks["self_parent"] = self_parent
        parent[self_parent] = -1
    orphan = has_pid & (parent < 0)
    if orphan.any():
        anomalies["orphans"] += int(orphan.sum())
        masks["orphans"] = orphan

    order, levels, depth = _top_down(parent)
    if len(order) < n:  # rows unreachable from a root sit on a cycle of parent links
        lost = np.ones(n, dtype=bool)
        lost[order] = False
        anomalies["cycles"] += int(lost.sum())
        masks["cycles"] = lost
        parent[lost] = -1
        order, levels, depth = _top_down(parent)
    return Tree(parent, depth, order, levels, trace, orphan, anomalies, masks)


def _top_down(parent: np.ndarray):
    n = len(parent)
    # roots (-1) first, then by parent row, then by row: one unique key, a fast unstable sort
    by_parent = np.argsort((parent + 1) * n + np.arange(n))
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    first_child = (n - n_children.sum()) + np.cumsum(n_children) - n_children
    level = np.flatnonzero(parent < 0)
    depth = np.zeros(n, dtype=np.int64)
    chunks, bounds = [], [0]
    d = 0
    seen = 0
    while len(level) and seen <= n:
        chunks.append(level)
        depth[level] = d
        seen += len(level)
        bounds.append(seen)
        counts = n_children[level]
        total = int(counts.sum())
        if total == 0:
            break
        starts = np.repeat(first_child[level] - np.cumsum(counts) + counts, counts)
        level = by_parent[starts + np.arange(total)]
        d += 1
    order = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    return order, np.array(bounds, dtype=np.int64), depth
