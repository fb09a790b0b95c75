"""What happened to each order and each hop call: answers, failures, outages, per trace.

One `Sample` per window: per trace the order's latency, its answer (the root span's HTTP status)
and, per hop, critical-path time, calls, and failed calls split by kind:

- **server errors**: a 5xx, or an error flag on a call that no 4xx explains;
- **transport errors**: a failed call with no server span and no status (refused, reset):
  the callee was never reached;
- **timeouts**: a failed call with no status of its own that a server span did answer: the
  callee was reached but too slow (also counted as server errors);
- **client errors**: a 4xx (out of stock, not found). Apart: the caller's request was wrong,
  the callee worked.

A hop call is *expected* in a trace unless another hop's call failed there (a 409 out of stock
or a 503 ends the order before payment), so calls that vanish because the callee is down are
told apart from calls the order never got to make.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from traceaudit.critical_path import SERVER
from traceaudit.hops import OrderAnalysis


@dataclass
class Sample:
    """Per-trace figures of one window (rows: traces; columns: buckets or hops)."""

    trace_ids: np.ndarray  # str per trace
    start_us: np.ndarray  # int per trace
    total_ms: np.ndarray  # order latency per trace
    outcome: np.ndarray  # the order's answer per trace: "200", "503", "error", "none"
    buckets: list[str]  # critical-path buckets: hops and local work ("order (self)")
    cp_ms: np.ndarray  # (traces, buckets) critical-path ms per trace
    hops: list[str]  # hop names (a subset of buckets)
    calls: np.ndarray  # (traces, hops) calls made
    server_errors: np.ndarray  # (traces, hops)
    transport_errors: np.ndarray  # (traces, hops), also counted in server_errors
    client_errors: np.ndarray  # (traces, hops)
    expected: np.ndarray  # (traces, hops) bool: no other hop's call failed in the trace
    callee_ms: dict[str, np.ndarray] = field(default_factory=dict)  # hop → client ms per call
    timeouts: np.ndarray | None = None  # (traces, hops), also counted in server_errors
    own_failures: np.ndarray | None = None  # per trace: failed (5xx) with no failed call
    caller: str | None = None  # the service whose calls are the hops

    @property
    def n(self) -> int:
        return len(self.trace_ids)

    def aligned(self, buckets: list[str], hops: list[str]) -> Sample:
        """The same sample with these columns (absent ones are zero; calls not expected)."""
        def take(matrix: np.ndarray, have: list[str], want: list[str], fill=0) -> np.ndarray:
            out = np.full((self.n, len(want)), fill, dtype=matrix.dtype)
            pos = {name: i for i, name in enumerate(have)}
            for j, name in enumerate(want):
                if name in pos:
                    out[:, j] = matrix[:, pos[name]]
            return out

        expected = take(self.expected, self.hops, hops, fill=True)
        return Sample(self.trace_ids, self.start_us, self.total_ms, self.outcome, list(buckets),
                      take(self.cp_ms, self.buckets, buckets), list(hops),
                      take(self.calls, self.hops, hops),
                      take(self.server_errors, self.hops, hops),
                      take(self.transport_errors, self.hops, hops),
                      take(self.client_errors, self.hops, hops), expected, self.callee_ms,
                      take(self.timeouts if self.timeouts is not None
                           else np.zeros_like(self.calls), self.hops, hops),
                      self.own_failures, self.caller)

    @property
    def own_bucket(self) -> str:
        """The caller's local work: where a failure with no failed call belongs."""
        return f"{self.caller or '?'} (self)"


def call_status(analysis: OrderAnalysis) -> pd.DataFrame:
    """Per hop call: trace, hop, its HTTP status (server's, else client's; 0: none), whether a
    server span answered it, and its failure kind: "server", "timeout", "transport", "client"
    or ""."""
    calls = analysis.calls
    spans = analysis.spans
    if spans is None or not len(calls):
        return pd.DataFrame({"trace_id": pd.Series(dtype=object), "hop": pd.Series(dtype=object),
                             "status": pd.Series(dtype=np.int64),
                             "answered": pd.Series(dtype=bool), "failure": pd.Series(dtype=object)})
    n = len(spans)
    kind = spans["kind"].cat.codes.to_numpy()
    parent = spans["parent_row"].to_numpy(dtype=np.int64)
    status = spans["status_code"].fillna(0).to_numpy(dtype=np.int64)
    error = spans["error"].to_numpy(dtype=bool)
    server_of = np.full(n, -1, dtype=np.int64)
    kids = np.flatnonzero((kind == SERVER) & (parent >= 0))
    server_of[parent[kids]] = kids
    rows = calls["row"].to_numpy(dtype=np.int64)
    srv = server_of[rows]
    if "bare" in calls:  # a server called without a client span answers itself
        srv = np.where(calls["bare"].to_numpy(dtype=bool), rows, srv)
    answered = srv >= 0
    srv_status = np.where(answered, status[np.maximum(srv, 0)], 0)
    code = np.where(srv_status > 0, srv_status, status[rows])
    failed = error[rows] | (answered & error[np.maximum(srv, 0)]) | (code >= 500)
    client = (code >= 400) & (code < 500)
    transport = failed & ~answered & (code == 0)
    bare = srv == rows
    timeout = error[rows] & (status[rows] == 0) & answered & ~bare & ~client
    server = (failed & ~client) | (code >= 500)
    failure = np.where(transport, "transport", np.where(timeout, "timeout", np.where(
        server, "server", np.where(client, "client", ""))))
    return pd.DataFrame({"trace_id": np.asarray(calls["trace_id"].astype(str)),
                         "hop": calls["hop"].to_numpy(dtype=object), "status": code,
                         "answered": answered, "failure": failure,
                         "client_ms": calls["client_us"].to_numpy(dtype=float) / 1000})


def order_outcomes(analysis: OrderAnalysis) -> pd.Series:
    """The answer of each analysed order, by trace id: its root span's HTTP status
    ("200", "202", "409", "503"), "error" for a failed root without one, else "none"."""
    spans, traces = analysis.spans, analysis.traces
    tids = np.asarray(traces["trace_id"].astype(str))
    if spans is None or not len(traces):
        return pd.Series(np.full(len(tids), "none", dtype=object), index=tids)
    root_row = spans["root_row"].to_numpy(dtype=np.int64)
    roots = np.flatnonzero(root_row == np.arange(len(spans)))
    status = spans["status_code"].fillna(0).to_numpy(dtype=np.int64)[roots]
    error = spans["error"].to_numpy(dtype=bool)[roots]
    label = np.where(status > 0, status.astype(str), np.where(error, "error", "none"))
    by_trace = pd.Series(label.astype(object),
                         index=np.asarray(spans["trace_id"].astype(str))[roots])
    by_trace = by_trace[~by_trace.index.duplicated()]
    return by_trace.reindex(tids).fillna("none")


def sample(analysis: OrderAnalysis) -> Sample:
    """The per-trace figures of one analysed window."""
    traces = analysis.traces
    tids = np.asarray(traces["trace_id"].astype(str))
    n = len(tids)
    index = pd.Index(tids)
    att = analysis.attribution
    if len(att):
        cp = (att.assign(trace=att["trace_id"].astype(str), bucket=att["bucket"].astype(str))
              .pivot_table(index="trace", columns="bucket", values="cp_us", aggfunc="sum",
                           fill_value=0, observed=True)
              .reindex(index, fill_value=0))
        hop_buckets = set(att.loc[att["is_hop"].to_numpy(dtype=bool), "bucket"].astype(str))
    else:
        cp, hop_buckets = pd.DataFrame(index=index), set()
    status = call_status(analysis)
    hops = sorted(hop_buckets | set(status["hop"].astype(str)))
    buckets = list(cp.columns.astype(str))
    buckets = sorted(buckets, key=lambda b: (b not in hops, b))
    cp_ms = cp.reindex(columns=buckets, fill_value=0).to_numpy(dtype=float) / 1000

    row = index.get_indexer(status["trace_id"]) if len(status) else np.zeros(0, np.int64)
    col = pd.Index(hops).get_indexer(status["hop"].astype(str)) if len(status) \
        else np.zeros(0, np.int64)
    known = (row >= 0) & (col >= 0)
    cell = row[known] * len(hops) + col[known]

    def per_trace(mask: np.ndarray) -> np.ndarray:
        counts = np.bincount(cell, weights=mask[known].astype(float),
                             minlength=n * len(hops))
        return counts.reshape(n, len(hops)).astype(np.int64)

    failure = status["failure"].to_numpy(dtype=object)
    calls = per_trace(np.ones(len(status), dtype=bool))
    server = per_trace(np.isin(failure, ("server", "transport", "timeout")))
    transport = per_trace(failure == "transport")
    timeouts = per_trace(failure == "timeout")
    client = per_trace(failure == "client")
    failed_any = (server + client) > 0
    # a call is expected unless another hop's call failed in the trace, or the operation
    # turned the request down itself (a 4xx answer with no failed call: invalid input)
    outcome = order_outcomes(analysis).to_numpy(dtype=object)
    no_call_failed = ~failed_any.any(axis=1)
    refused = np.array([o[:1] == "4" for o in outcome], dtype=bool) & no_call_failed
    # and one that failed on its own (a 5xx with no failed call: its own work broke)
    own = np.array([o[:1] == "5" or o == "error" for o in outcome], dtype=bool) & no_call_failed
    others_failed = ((failed_any.sum(axis=1, keepdims=True) - failed_any) > 0) | \
        (refused | own)[:, None]
    callee_ms = {h: g["client_ms"].to_numpy() for h, g in status.groupby("hop")} \
        if len(status) else {}
    return Sample(tids, traces["start_us"].to_numpy(dtype=np.int64),
                  traces["duration_us"].to_numpy(dtype=float) / 1000,
                  outcome, buckets, cp_ms, hops,
                  calls, server, transport, client, ~others_failed, callee_ms, timeouts,
                  own, analysis.caller)


def outcome_mix(base: Sample, cur: Sample) -> pd.DataFrame:
    """Share of orders per answer in each window, most common (after) first."""
    b = pd.Series(base.outcome).value_counts()
    c = pd.Series(cur.outcome).value_counts()
    labels = c.index.union(b.index)
    out = pd.DataFrame({"outcome": labels,
                        "baseline": b.reindex(labels, fill_value=0).to_numpy(),
                        "current": c.reindex(labels, fill_value=0).to_numpy()})
    out["baseline_share"] = out["baseline"] / max(base.n, 1)
    out["current_share"] = out["current"] / max(cur.n, 1)
    out["delta_share"] = out["current_share"] - out["baseline_share"]
    return out.sort_values(["current", "baseline"], ascending=False,
                           kind="stable").reset_index(drop=True)


def hop_failures(s: Sample) -> pd.DataFrame:
    """Per hop: calls per expected order, and the share of calls failing by kind."""
    rows = []
    for j, hop in enumerate(s.hops):
        calls = int(s.calls[:, j].sum())
        expected = int(s.expected[:, j].sum())
        rows.append({"hop": hop, "calls": calls,
                     "calls_per_order": s.calls[s.expected[:, j], j].sum() / expected
                     if expected else np.nan,
                     "error_rate": s.server_errors[:, j].sum() / calls if calls else np.nan,
                     "transport_error_rate": s.transport_errors[:, j].sum() / calls
                     if calls else np.nan,
                     "client_error_rate": s.client_errors[:, j].sum() / calls
                     if calls else np.nan})
    return pd.DataFrame(rows, columns=["hop", "calls", "calls_per_order", "error_rate",
                                       "transport_error_rate", "client_error_rate"])
