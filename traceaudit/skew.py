"""Clock-skew correction as the Zipkin UI (zipkin-lens `clock-skew.js`) does it.

Only a CLIENT → SERVER pair on different hosts whose server appears to start no later than its
client is corrected; the skew is subtracted from every span of the server's host in that
subtree. Traces without exactly one root are left alone, as in the UI. One deliberate
difference: spans without an IP (OpenTelemetry's exporter sends none) are keyed by service name,
where the UI would not correct them at all. Latency halves use integer µs (the UI's JS may keep
a .5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from traceaudit.tree import Tree, column_codes


def host_keys(spans: pd.DataFrame) -> np.ndarray:
    """Host of each span: its IP where known, else its service name."""
    ip = spans["endpoint"].cat.codes.to_numpy().astype(np.int64) if "endpoint" in spans \
        else np.full(len(spans), -1, dtype=np.int64)
    service = column_codes(spans["service"])
    offset = len(spans["endpoint"].cat.categories) if "endpoint" in spans else 0
    return np.where(ip >= 0, ip, np.where(service >= 0, offset + service, -1))


def correct_skew(spans: pd.DataFrame, tree: Tree) -> tuple[np.ndarray, int]:
    """Skew-corrected start times (µs, 0 = unknown) and the number of corrections made."""
    start = spans["start_us"].fillna(0).to_numpy(dtype=np.int64).copy()
    dur = spans["duration_us"].fillna(0).to_numpy(dtype=np.int64)
    kind = spans["kind"].cat.codes.to_numpy()  # 0 CLIENT, 1 SERVER
    host = host_keys(spans)
    roots_per_trace = np.bincount(tree.trace[(tree.parent < 0) & ~tree.orphan],
                                  minlength=tree.trace.max() + 1 if len(tree.trace) else 0)
    # a trace is only ever corrected if one of its servers starts no later than its client on
    # another host (its first correction sees unshifted times): the others are skipped
    child = np.flatnonzero(tree.parent >= 0)
    p = tree.parent[child]
    suspect = ((kind[p] == 0) & (kind[child] == 1) & (start[p] > 0) & (start[child] > 0)
               & (start[child] <= start[p]) & (host[child] >= 0) & (host[p] >= 0)
               & (host[child] != host[p]))
    skewed = np.zeros(len(roots_per_trace), dtype=bool)
    skewed[tree.trace[child[suspect]]] = True
    eligible = (roots_per_trace[tree.trace] == 1) & skewed[tree.trace]
    if not eligible.any():
        return start, 0
    skew = np.zeros(len(spans), dtype=np.int64)
    skew_host = np.full(len(spans), -1, dtype=np.int64)
    corrected = 0
    for d in range(1, tree.n_levels):
        rows = tree.level(d)
        rows = rows[eligible[rows]]
        if not len(rows):
            continue
        p = tree.parent[rows]
        inherited, inherited_host = skew[p], skew_host[p]
        shift = (inherited != 0) & (inherited_host == host[rows]) & (start[rows] > 0)
        start[rows] -= np.where(shift, inherited, 0)
        cs, ss, cd, sd = start[p], start[rows], dur[p], dur[rows]
        pair = ((kind[p] == 0) & (kind[rows] == 1) & (cs > 0) & (ss > 0) & (ss <= cs)
                & (host[rows] >= 0) & (host[p] >= 0) & (host[rows] != host[p]))
        one_way = (cd == 0) | (sd == 0)
        latency = (cd - sd) // 2
        own = np.where(one_way | (cd < sd), ss - cs - 1, ss - latency - cs)
        own = np.where(pair & (one_way | (cd < sd) | (latency >= 0)), own, 0)
        start[rows] -= own
        mine = own != 0
        corrected += int(mine.sum())
        skew[rows] = np.where(mine, own, inherited)
        skew_host[rows] = np.where(mine, host[rows], inherited_host)
    return start, corrected
