"""Per-hop figures of an operation (by default the order placement) across many traces.

A hop is a call (CLIENT or PRODUCER span) the *caller* service makes while serving the
operation, named by its callee. Every span under the analysed root is attributed to one hop
(the call and everything below it) or to the local work of its service, so the critical-path
times of all rows add up to the operation's latency. Work hanging off a PRODUCER → CONSUMER
link is asynchronous: it is reported apart and never counts towards the operation's latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from traceaudit.anomalies import Anomalies
from traceaudit.callers import find_regions, majority, trace_callers
from traceaudit.critical_path import CLIENT, PRODUCER, SERVER, critical_path, self_time
from traceaudit.skew import correct_skew
from traceaudit.tree import build_tree

QUANTILES = (0.5, 0.95, 0.99)
# every hop table has these columns, whatever it holds (no hops, no calls, no traces)
TABLE_COLUMNS = ["rank", "hop", "type", "calls", "traces_share", "cp_mean_ms", "cp_p50_ms",
                 "cp_p95_ms", "cp_share", "on_cp_share", "error_rate", "client_error_rate",
                 *[f"{side}_{stat}_ms" for side in ("client", "server")
                   for stat in ("mean", "p50", "p95", "p99", "max")],
                 "network_mean_ms", "network_p50_ms", "network_p95_ms", "self_mean_ms",
                 "order_share_mean", "note"]


@dataclass
class OrderAnalysis:
    """Everything the tables and the report are made of (all times in µs)."""

    service: str
    span: str
    caller: str | None
    traces: pd.DataFrame  # one row per analysed trace
    calls: pd.DataFrame  # one row per hop call
    attribution: pd.DataFrame  # trace × bucket: critical-path µs and whether it is a hop
    asynchronous: pd.DataFrame  # one row per async span under a root (e.g. the consumer)
    anomalies: dict = field(default_factory=dict)  # {kind: {count, examples, meaning}}
    spans: pd.DataFrame | None = None  # the analysed spans with per-span results
    trace_callers: pd.DataFrame | None = None  # per trace with the root: its own caller


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def find_roots(spans: pd.DataFrame, depth: np.ndarray, service: str, span: str) -> np.ndarray:
    """Per trace, the highest (then earliest) span of `service` named `span`."""
    match = ((spans["service"] == _lower(service)) & (spans["name"] == _lower(span))).to_numpy()
    rows = np.flatnonzero(match)
    if not len(rows):
        return rows
    trace = spans["trace_id"].cat.codes.to_numpy()[rows]
    start = spans["start_us"].fillna(0).to_numpy(dtype=np.int64)[rows]
    order = np.lexsort((start, depth[rows], trace))
    rows, trace = rows[order], trace[order]
    return rows[np.r_[True, trace[1:] != trace[:-1]]]


def analyse(
    spans: pd.DataFrame,
    *,
    service: str = "gateway",
    span: str = "post /api/v1/orders",
    caller: str | None = None,
    hop_names: dict[str, str] | None = None,
    limit_hit: bool = False,
) -> OrderAnalysis:
    """Attribute the latency of every `service`/`span` root to the hops of its `caller`.

    Without `caller`, each trace's caller is found on its own (see `traceaudit.callers`) and
    the majority wins; traces in which that caller does not serve the root are left out.
    """
    anomalies = Anomalies()
    anomalies.update(spans.attrs.get("anomalies", {}), spans.attrs.get("anomaly_examples"))
    if limit_hit:
        anomalies.add("cut_off_at_limit", 1)
    trace_ids = spans["trace_id"]
    tree = build_tree(spans)
    for kind_name, rows in tree.anomaly_rows.items():
        anomalies.add_rows(kind_name, rows, trace_ids, tree.anomalies[kind_name])
    start, skewed = correct_skew(spans, tree)
    duration = spans["duration_us"].fillna(0).to_numpy(dtype=np.int64)
    kind = spans["kind"].cat.codes.to_numpy().astype(np.int64)
    _count_rpc_oddities(spans, tree, kind, start, skewed, anomalies)
    service_code = spans["service"].cat.codes.to_numpy().astype(np.int64)
    services = list(spans["service"].cat.categories)
    roots = find_roots(spans, tree.depth, service, span)
    if len(spans):
        without = np.ones(len(spans["trace_id"].cat.categories), dtype=bool)
        without[tree.trace[roots]] = False
        without &= np.bincount(tree.trace, minlength=len(without)) > 0
        anomalies.add("traces_without_root_span", int(without.sum()),
                      [spans["trace_id"].cat.categories[i] for i in np.flatnonzero(without)[:3]])
    roots = roots[(start[roots] > 0) & (duration[roots] > 0)]
    cp = critical_path(tree, start, duration, kind, roots)
    regions = find_regions(tree, kind, service_code, roots,
                           (cp.root_of >= 0) & ~cp.asynchronous)
    heads = trace_callers(spans, regions, roots, service_code)
    own_caller = np.where(heads >= 0, service_code[np.maximum(heads, 0)], -1)
    if caller is not None:
        caller_code = services.index(caller.lower()) if caller.lower() in services else -1
    else:
        caller_code = majority(own_caller)
        differs = own_caller != caller_code
        anomalies.add("caller_differs", int(differs.sum()),
                      trace_ids.take(roots[differs][:3]).astype(str))
    # a trace in which the caller serves nothing under the root has no hops to show
    serving = np.zeros(len(spans), dtype=bool)
    head_rows = np.flatnonzero((regions.region == np.arange(len(spans)))
                               & (service_code == caller_code) & (caller_code >= 0))
    serving[cp.root_of[head_rows]] = True
    absent = ~serving[roots]
    if absent.any():
        anomalies.add("caller_absent", int(absent.sum()), trace_ids.take(roots[absent][:3])
                      .astype(str))
    if absent.all():  # a caller serving no trace at all: keep them, with no hops
        absent[:] = False
    callers = pd.DataFrame({
        "trace_id": pd.Categorical.from_codes(spans["trace_id"].cat.codes.to_numpy()[roots],
                                              dtype=spans["trace_id"].dtype),
        "caller": [services[c] if c >= 0 else None for c in own_caller],
        "analysed": ~absent,
    })
    if absent.any():
        roots, heads, own_caller = roots[~absent], heads[~absent], own_caller[~absent]
        cp = critical_path(tree, start, duration, kind, roots)
        regions = find_regions(tree, kind, service_code, roots,
                               (cp.root_of >= 0) & ~cp.asynchronous)
    selfs = self_time(tree, start, duration)
    under = cp.root_of >= 0
    outlives = under & ~cp.asynchronous & (start > 0) & (
        start + duration > (start + duration)[np.maximum(tree.parent, 0)]) & (tree.parent >= 0)
    anomalies.add_rows("outlive_parent", outlives, trace_ids)
    clipped_out = under & ~cp.blocking & ~cp.asynchronous
    anomalies.add_rows("outside_parent_dropped", clipped_out, trace_ids)

    caller_name = services[caller_code] if caller_code >= 0 else None
    hop = _hop_rows(tree, regions, service_code, caller_code, roots, under & ~cp.asynchronous)
    names = _hop_names(spans, hop, regions, hop_names or {})

    bucket = _buckets(hop, names, service_code, services)
    rows = np.flatnonzero(under & ~cp.asynchronous)
    trace_codes = spans["trace_id"].cat.codes.to_numpy()
    trace_dtype = spans["trace_id"].dtype  # one dtype object: pandas caches its hash

    def trace_column(rows: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(trace_codes[rows], dtype=trace_dtype)

    attribution = _attribution(trace_codes[rows], bucket.codes[rows], bucket.categories,
                               hop[rows] >= 0, cp.cp_us[rows], trace_dtype)
    calls_rows = np.flatnonzero(hop == np.arange(len(hop)))
    calls = _calls(spans, regions, calls_rows, names, start, duration, kind, selfs,
                   trace_column(calls_rows))
    err = spans["error"].to_numpy(dtype=bool) | (
        spans["status_code"].fillna(0).to_numpy(dtype=np.int64) >= 500)
    subtree_error = np.bincount(cp.root_of[under & err], minlength=len(spans))
    traces = pd.DataFrame({
        "trace_id": trace_column(roots),
        "start_us": start[roots],
        "duration_us": duration[roots],
        "error": subtree_error[roots] > 0,
        "spans": np.bincount(cp.root_of[under], minlength=len(spans))[roots],
    })
    asy = np.flatnonzero(cp.asynchronous)
    root_end = (start + duration)[cp.root_of[asy]]
    asynchronous = pd.DataFrame({
        "trace_id": trace_column(asy),
        "service": np.asarray(spans["service"].array.take(asy)),
        "name": np.asarray(spans["name"].array.take(asy)),
        "kind": np.asarray(spans["kind"].array.take(asy)),
        "start_us": start[asy],
        "duration_us": duration[asy],
        "after_order_us": (start + duration)[asy] - root_end,
        "lag_us": start[asy] - start[np.maximum(tree.parent[asy], 0)],
    })
    del regions, hop, names  # the peak comes next: keep only what the frame needs
    bare_call = np.zeros(len(spans), dtype=bool)
    bare_call[calls_rows[calls["bare"].to_numpy(dtype=bool)]] = True
    marks = {"bare_call": bare_call}
    if skewed:  # the skew each span was corrected by (µs), for the waterfall's marks
        marks["skew_us"] = spans["start_us"].fillna(0).to_numpy(dtype=np.int64) - start
    analysed = spans.assign(start_us=pd.arrays.IntegerArray(start, start == 0), cp_us=cp.cp_us,
                            self_us=selfs, bucket=bucket, asynchronous=cp.asynchronous,
                            depth=tree.depth, parent_row=tree.parent, root_row=cp.root_of,
                            **marks)
    return OrderAnalysis(service, span, caller_name, traces, calls, attribution, asynchronous,
                         anomalies.as_dict(), analysed, callers)


def _count_rpc_oddities(spans: pd.DataFrame, tree, kind: np.ndarray, start: np.ndarray,
                        skewed: int, anomalies: Anomalies) -> None:
    """Shared spans, 64-bit ids, clients nobody answered, servers starting before clients."""
    trace_ids = spans["trace_id"]
    n = len(spans)
    if "shared" in spans:
        anomalies.add_rows("shared_spans", spans["shared"].to_numpy(dtype=bool), trace_ids)
    cats = (trace_ids.cat.categories if isinstance(trace_ids.dtype, pd.CategoricalDtype)
            else pd.Index(trace_ids.unique())).tolist()
    short = np.fromiter(map(len, cats), dtype=np.int64, count=len(cats)) == 16
    if short.any():
        anomalies.add("trace_id_64bit", int(short.sum()),
                      [cats[i] for i in np.flatnonzero(short)[:3]])
    p = np.maximum(tree.parent, 0)
    has_parent = tree.parent >= 0
    server = (kind == SERVER) & has_parent
    answered = np.zeros(n, dtype=bool)
    answered[tree.parent[server]] = True
    # a peer that reports spans of its own (or no peer named) should have answered
    local_codes, remote_codes = _codes(spans["service"]), _codes(spans["remote_service"])
    if spans["service"].dtype == spans["remote_service"].dtype:  # one category table
        reports = np.zeros(len(spans["service"].cat.categories) + 1, dtype=bool)
        reports[local_codes[local_codes >= 0]] = True
        instrumented = (remote_codes < 0) | reports[np.maximum(remote_codes, 0)]
    else:
        remote = spans["remote_service"].astype(object).to_numpy()
        instrumented = pd.isna(remote) | np.isin(remote, spans["service"].dropna().unique())
    unanswered = (kind == CLIENT) & ~answered & instrumented
    anomalies.add_rows("client_without_server", unanswered, trace_ids)
    bare = server & (kind[p] != CLIENT) & (local_codes != local_codes[p])
    anomalies.add_rows("server_without_client", bare, trace_ids)
    raw = spans["start_us"].fillna(0).to_numpy(dtype=np.int64)
    pair = server & (kind[p] == CLIENT) & (raw > 0) & (raw[p] > 0)
    before = pair & (raw <= raw[p])  # what the Zipkin UI takes for skew
    if before.any():
        anomalies.add_rows("server_before_client", before, trace_ids)
        anomalies.add_rows("skew_corrected", before, trace_ids, count=skewed)
        still = before & (start <= start[p])
        anomalies.add_rows("skew_not_corrected", still, trace_ids)


def _codes(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    return pd.factorize(column)[0]


def _buckets(hop: np.ndarray, names: np.ndarray, service_code: np.ndarray,
             services: list[str]) -> pd.Categorical:
    """Per row: the name of its hop, or "<service> (self)" for local work."""
    calls = np.flatnonzero(hop == np.arange(len(hop)))
    hop_codes, hop_names = pd.factorize(names[calls])
    call_code = np.zeros(len(hop), dtype=np.int64)
    call_code[calls] = hop_codes
    labels = np.array([f"{s} (self)" for s in services] + ["? (self)"] + list(hop_names),
                      dtype=object)
    label_codes, categories = pd.factorize(labels)  # a hop may be named like local work
    local = np.where(service_code >= 0, service_code, len(services))
    raw = np.where(hop >= 0, len(services) + 1 + call_code[np.maximum(hop, 0)], local)
    return pd.Categorical.from_codes(label_codes[raw], categories=categories)


def _attribution(trace: np.ndarray, bucket: np.ndarray, buckets: pd.Index, is_hop: np.ndarray,
                 cp_us: np.ndarray, trace_dtype: pd.CategoricalDtype) -> pd.DataFrame:
    """Critical-path µs summed per trace × bucket (grouped on integer codes)."""
    key = (trace.astype(np.int64) * max(len(buckets), 1) + bucket) * 2 + is_hop
    keys, first, group = np.unique(key, return_index=True, return_inverse=True)
    return pd.DataFrame({
        "trace_id": pd.Categorical.from_codes(trace[first], dtype=trace_dtype),
        "bucket": pd.Categorical.from_codes(bucket[first], categories=buckets),
        "is_hop": is_hop[first],
        "cp_us": np.bincount(group, weights=cp_us, minlength=len(keys)).astype(np.int64),
    })


def _hop_rows(tree, regions, service_code, caller, roots, blocking) -> np.ndarray:
    """Per row, the row of the hop call it belongs to (-1: not inside a hop).

    A hop call is a call made from a region of the caller's service; everything below it
    belongs to it.
    """
    n = len(service_code)
    hop = np.full(n, -1, dtype=np.int64)
    if caller < 0 or not len(roots):
        return hop
    owner = regions.owner
    is_hop_call = regions.is_call & (owner >= 0) & (service_code[np.maximum(owner, 0)] == caller)
    first = int(tree.depth[roots].min())
    for d in range(first + 1, tree.n_levels):
        rows = tree.level(d)
        rows = rows[blocking[rows]]
        inherited = hop[tree.parent[rows]]
        hop[rows] = np.where(inherited >= 0, inherited, np.where(is_hop_call[rows], rows, -1))
    return hop


def _hop_names(spans, hop, regions, overrides: dict[str, str]) -> np.ndarray:
    """Name of each call: the service of the server that answered it, else its peer
    (remoteEndpoint or peer.service), else the span name; `overrides` maps NAME=SERVICE.
    None on other rows."""
    n = len(hop)
    calls = np.flatnonzero(hop == np.arange(n))

    def at_calls(column: str, rows: np.ndarray = calls) -> np.ndarray:
        return np.asarray(spans[column].array.take(rows), dtype=object)

    remote, name = at_calls("remote_service"), at_calls("name")
    callee_rows = regions.callee[calls]
    callee = np.full(len(calls), None, dtype=object)
    answered = callee_rows >= 0
    callee[answered] = at_calls("service", callee_rows[answered])
    names = np.where(pd.notna(callee), callee, np.where(pd.notna(remote), remote, name))
    names = np.where(pd.isna(names), "?", names)
    by_service = {svc.lower(): hop_name for hop_name, svc in overrides.items()}
    if by_service:
        for i in range(len(calls)):
            for candidate in (callee[i], remote[i], name[i]):
                if isinstance(candidate, str) and candidate.lower() in by_service:
                    names[i] = by_service[candidate.lower()]
                    break
    out = np.full(n, None, dtype=object)
    out[calls] = names
    return out


def _calls(spans, regions, rows, names, start, duration, kind, selfs, trace_ids):
    """One row per hop call with client- and server-side figures (a server called without a
    client span is its own client: its network time is unknown)."""
    srv = regions.callee[rows]
    srv = np.where((srv >= 0) & (kind[np.maximum(srv, 0)] == SERVER), srv, -1)
    has = srv >= 0
    bare = srv == rows
    err = spans["error"].to_numpy(dtype=bool)
    status = spans["status_code"].fillna(0).to_numpy(dtype=np.int64)
    s = np.maximum(srv, 0)
    # the answer: the server's status, else the client's; a 4xx is the caller's error, apart
    code = np.where(has & (status[s] > 0), status[s], status[rows])
    client_error = (code >= 400) & (code < 500)
    return pd.DataFrame({
        "trace_id": trace_ids,
        "hop": names[rows],
        "kind": np.where(kind[rows] == PRODUCER, "PRODUCER",
                         np.where(kind[rows] == CLIENT, "CLIENT", "SERVER")),
        "start_us": start[rows],
        "client_us": duration[rows],
        "server_us": np.where(has, duration[s], -1),
        "self_us": np.where(has, selfs[s], selfs[rows]),
        "error": ((err[rows] | (has & err[s])) & ~client_error) | (code >= 500),
        "client_error": client_error,
        "row": rows,
        "bare": bare,
    }).assign(server_us=lambda f: f["server_us"].where(f["server_us"] >= 0))


def hop_table(analysis: OrderAnalysis, *, include_local: bool = True) -> pd.DataFrame:
    """One row per hop (then local work), ranked by mean critical-path time (ms)."""
    traces = analysis.traces
    n_traces = len(traces)
    total_us = float(traces["duration_us"].sum()) or 1.0
    att = analysis.attribution
    cp_sum = att.groupby("bucket", sort=False)["cp_us"].sum()
    is_hop = att.groupby("bucket", sort=False)["is_hop"].any()
    on_cp = att[att["cp_us"] > 0].groupby("bucket", sort=False)["trace_id"].nunique()
    calls = analysis.calls
    rows = []
    grouped = dict(tuple(calls.groupby("hop", sort=False))) if len(calls) else {}
    # order duration per trace code (calls only exist under analysed traces)
    order_dur = np.zeros(len(traces["trace_id"].cat.categories))
    order_dur[traces["trace_id"].cat.codes.to_numpy()] = traces["duration_us"].to_numpy()
    cp_quantiles = _cp_quantiles(att, traces)
    for bucket in cp_sum.index.union(pd.Index(list(grouped), dtype=object)):
        hop_calls = grouped.get(bucket)
        hop = bool(is_hop.get(bucket, hop_calls is not None))
        if not hop and not include_local:
            continue
        row = {"hop": bucket, "type": "call" if hop else "local"}
        traces_with = hop_calls["trace_id"].nunique() if hop_calls is not None else n_traces
        row["calls"] = int(len(hop_calls)) if hop_calls is not None else 0
        row["traces_share"] = traces_with / n_traces if n_traces else 0.0
        row["cp_mean_ms"] = cp_sum.get(bucket, 0) / n_traces / 1000 if n_traces else 0.0
        row["cp_p50_ms"], row["cp_p95_ms"] = cp_quantiles.get(bucket, (0.0, 0.0))
        row["cp_share"] = cp_sum.get(bucket, 0) / total_us
        row["on_cp_share"] = on_cp.get(bucket, 0) / traces_with if traces_with else 0.0
        if hop_calls is not None:
            client = hop_calls["client_us"] / 1000
            server = hop_calls["server_us"] / 1000
            row["error_rate"] = float(hop_calls["error"].mean())
            row["client_error_rate"] = float(hop_calls["client_error"].mean())
            row.update(_stats("client", client))
            row.update(_stats("server", server))
            row.update(_stats("network", client - server, quantiles=(0.5, 0.95)))
            row["self_mean_ms"] = float(hop_calls["self_us"].mean() / 1000)
            codes = hop_calls["trace_id"].cat.codes.to_numpy()
            per_trace = np.bincount(codes, weights=hop_calls["client_us"].to_numpy(dtype=float),
                                    minlength=len(order_dur))
            made = np.bincount(codes, minlength=len(order_dur)) > 0
            share = per_trace[made] / order_dur[made]
            row["order_share_mean"] = float(share.sum() / n_traces) if n_traces else 0.0
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in TABLE_COLUMNS if c not in ("rank", "note")])
    table = table.sort_values(["type", "cp_mean_ms"], ascending=[True, False], kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    table["note"] = [_note(r) for r in table.itertuples()]
    table = table.reset_index(drop=True)[TABLE_COLUMNS]
    return table.astype({"rank": "int64", "calls": "int64", "hop": object, "type": object,
                         "note": object})


def _cp_quantiles(att: pd.DataFrame, traces: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per bucket: p50 and p95 (ms) over the analysed traces of its critical-path time (0 in a
    trace without it, as in the mean)."""
    n = len(traces)
    if not n or att.empty:
        return {}
    position = np.full(len(traces["trace_id"].cat.categories), -1, dtype=np.int64)
    position[traces["trace_id"].cat.codes.to_numpy()] = np.arange(n)
    pos = position[att["trace_id"].cat.codes.to_numpy()]
    bucket = att["bucket"].cat.codes.to_numpy()
    cp = att["cp_us"].to_numpy(dtype=float)
    out = {}
    for code, name in enumerate(att["bucket"].cat.categories):
        mine = (bucket == code) & (pos >= 0)
        if not mine.any():
            continue
        values = np.bincount(pos[mine], weights=cp[mine], minlength=n)
        p50, p95 = np.quantile(values, (0.5, 0.95)) / 1000
        out[name] = (float(p50), float(p95))
    return out


def _stats(prefix: str, values: pd.Series, quantiles=QUANTILES) -> dict:
    values = values.dropna()
    if values.empty:
        return {f"{prefix}_mean_ms": np.nan, **{f"{prefix}_p{int(q * 100)}_ms": np.nan
                                               for q in quantiles}}
    qs = np.quantile(values.to_numpy(dtype=float), quantiles)
    out = {f"{prefix}_mean_ms": float(values.mean())}
    out.update({f"{prefix}_p{int(q * 100)}_ms": float(v) for q, v in zip(quantiles, qs,
                                                                          strict=True)})
    if prefix != "network":
        out[f"{prefix}_max_ms"] = float(values.max())
    return out


def _note(row) -> str:
    if row.type != "call":
        return "the service's own work"
    if row.calls and row.on_cp_share < 0.5:
        off = 1 - row.on_cp_share
        return f"runs beside a longer hop: off the critical path in {off:.0%} of its traces"
    return ""
