"""Zipkin v2 JSON → the spans DataFrame (one row per span, columnar, vectorised).

Columns: `trace_id, span_id, parent_id, service, name, kind, remote_service, start_us,
duration_us, status_code, error, tags`, plus `shared` (the server half of a B3 RPC that reuses
its client's span id) and `endpoint` (the host key used for clock-skew correction).
Normalised as Zipkin's own read path does: ids lower-case and left-padded, names lower-cased,
one copy of a trace fetched twice, fragments of one span merged, `shared` back-filled.
Every oddity is counted in `frame.attrs["anomalies"]`.
"""

from __future__ import annotations

import gc
import operator
import re
from collections import Counter
from collections.abc import Iterable
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import pandas as pd

from traceaudit._jsonstream import iter_trace_chunks

COLUMNS = ["trace_id", "span_id", "parent_id", "service", "name", "kind", "remote_service",
           "start_us", "duration_us", "status_code", "error", "tags"]
KINDS = ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"]
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_EMPTY: dict = {}
_HEX = re.compile(r"[0-9a-f]+")
_MIX = np.uint64(0x9E3779B97F4A7C15)
_get = dict.get


def normalize_trace_id(value: object) -> str | None:
    """Zipkin's rule: lower-hex, left-padded to 16 or 32; a zero high half is dropped."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if not _HEX.fullmatch(value) or len(value) > 32:
        return None
    value = value.zfill(16 if len(value) <= 16 else 32)
    if len(value) == 32 and value.startswith("0" * 16):
        value = value[16:]
    return None if value.strip("0") == "" else value


def normalize_span_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if not _HEX.fullmatch(value) or len(value) > 16:
        return None
    value = value.zfill(16)
    return None if value == "0" * 16 else value


def mix_keys(ids: np.ndarray, *parts: np.ndarray) -> np.ndarray:
    """One uint64 hash of a span id and small-int parts (equal inputs → equal keys)."""
    key = ids.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        for part in parts:
            key = (key ^ (part.astype(np.uint64) + np.uint64(1))) * _MIX
    return key


def hex_ids(values) -> np.ndarray:
    """Span ids (16-hex strings, None for absent) → uint64; absent or invalid → 0."""
    values = list(values)
    try:
        return np.fromiter(map(int, [v if type(v) is str else "0" for v in values], repeat(16)),
                           dtype=np.uint64,
                           count=len(values))
    except (TypeError, ValueError, OverflowError):
        out = np.zeros(len(values), dtype=np.uint64)
        for i, v in enumerate(values):
            v = normalize_span_id(v)
            if v is not None:
                out[i] = int(v, 16)
        return out


class _Book:
    """Global string → code table, so each chunk's strings become small ints at once."""

    def __init__(self, lower: bool = True) -> None:
        self.codes: dict[str, int] = {}
        self.lower = lower

    def encode(self, values: list) -> np.ndarray:
        codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
        table = np.array([self._code(u) for u in uniques] + [-1], dtype=np.int32)
        return table[codes]

    def _code(self, value) -> int:
        if not isinstance(value, str) or not value:
            return -1
        value = value.lower() if self.lower else value
        return self.codes.setdefault(value, len(self.codes))

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=list(self.codes) or ["?"])


_FIELDS = ("id", "parentId", "kind", "name", "timestamp", "duration", "shared")


def _fast_columns(spans: list[dict]) -> dict:
    """Field lists of well-formed spans with C-level loops; raises on anything unusual."""
    col = {k: list(map(_get, spans, repeat(k))) for k in _FIELDS}
    local = [e or _EMPTY for e in map(_get, spans, repeat("localEndpoint"))]
    remote = [e or _EMPTY for e in map(_get, spans, repeat("remoteEndpoint"))]
    tags = list(map(_get, spans, repeat("tags")))
    tg = [t or _EMPTY for t in tags]
    col["service"] = list(map(_get, local, repeat("serviceName")))
    col["ipv4"] = list(map(_get, local, repeat("ipv4")))
    col["ipv6"] = list(map(_get, local, repeat("ipv6")))
    col["tags"] = tags
    col["error"] = list(map(operator.contains, tg, repeat("error")))
    # the peer: remoteEndpoint, else peer.service, the broker or the database system
    col["remote"] = [a or b or c or d for a, b, c, d in zip(
        map(_get, remote, repeat("serviceName")), map(_get, tg, repeat("peer.service")),
        map(_get, tg, repeat("messaging.system")), map(_get, tg, repeat("db.system")),
        strict=True)]
    col["status"] = [a or b or c for a, b, c in zip(
        map(_get, tg, repeat("http.status_code")),
        map(_get, tg, repeat("http.response.status_code")),
        map(_get, tg, repeat("rpc.grpc.status_code")), strict=True)]
    col["otel.status_code"] = list(map(_get, tg, repeat("otel.status_code")))
    col["timestamp"] = np.array(col["timestamp"], dtype=np.float64)
    col["duration"] = np.array(col["duration"], dtype=np.float64)
    return col


def _checked_span(s) -> dict | None:
    """One span made safe for `_fast_columns` (wrong types dropped), or None if unusable."""
    if not isinstance(s, dict):
        return None
    out = {k: s.get(k) for k in _FIELDS}
    out["id"] = normalize_span_id(out["id"])
    if out["id"] is None:
        return None
    out["parentId"] = normalize_span_id(out["parentId"])
    for k in ("timestamp", "duration"):
        v = out[k]
        out[k] = v if isinstance(v, int | float) and not isinstance(v, bool) else None
    for k in ("kind", "name"):
        out[k] = out[k] if isinstance(out[k], str) else None
    out["shared"] = out["shared"] is True
    for k in ("localEndpoint", "remoteEndpoint"):
        e = s.get(k)
        if isinstance(e, dict):
            out[k] = {f: e[f] for f in ("serviceName", "ipv4", "ipv6")
                      if isinstance(e.get(f), str)}
    tags = s.get("tags")
    if isinstance(tags, dict):
        out["tags"] = {str(k): v if isinstance(v, str) else str(v) for k, v in tags.items()}
    return out


class SpansBuilder:
    """Accumulates chunks of traces into columns; `frame()` makes the DataFrame."""

    def __init__(self, keep_tags: bool = True) -> None:
        self.keep_tags = keep_tags
        self.names, self.services, self.endpoints = _Book(), _Book(), _Book(lower=False)
        self.anomalies: Counter = Counter()
        self.trace_ids: list[str] = []
        self.trace_sizes: list[int] = []
        self.parts: list[dict] = []

    def add(self, traces: Iterable) -> None:
        """Add a list of traces (each a list of span dicts)."""
        spans: list = []
        sizes: list[int] = []
        for trace in traces:
            tid = self._trace_id(trace) if isinstance(trace, list) and trace else None
            if tid is None:
                self.anomalies["bad_trace"] += 1
                continue
            self.trace_ids.append(tid)
            sizes.append(len(trace))
            spans.extend(trace)
        if not spans:
            return
        self.trace_sizes.extend(sizes)
        first = len(self.trace_ids) - len(sizes)
        trace_no = np.repeat(np.arange(first, first + len(sizes)), sizes)
        try:
            col = _fast_columns(spans)
            ok = np.ones(len(spans), dtype=bool)
        except (TypeError, ValueError, AttributeError):
            checked = [_checked_span(s) for s in spans]
            ok = np.array([c is not None for c in checked], dtype=bool)
            col = _fast_columns([c for c in checked if c is not None])
            self.anomalies["bad_span"] += int((~ok).sum())
        self.parts.append(self._columns(col, trace_no[ok]))

    def _trace_id(self, trace: list) -> str | None:
        first = trace[0]
        tid = normalize_trace_id(first.get("traceId")) if isinstance(first, dict) else None
        if tid is None:  # fall back to any span with a usable id
            for span in trace:
                if isinstance(span, dict) and (tid := normalize_trace_id(span.get("traceId"))):
                    break
        return tid

    def _columns(self, col: dict, trace_no: np.ndarray) -> dict:
        n = len(trace_no)
        ts, dur = col["timestamp"], col["duration"]
        ts = np.where(np.isnan(ts) | (ts <= 0), 0, ts).astype(np.int64)
        dur = np.where(np.isnan(dur) | (dur <= 0), 0, dur).astype(np.int64)
        kind_codes, kind_uniques = pd.factorize(np.array(col["kind"], dtype=object))
        kt = np.array([_KIND_CODE.get(k.upper() if isinstance(k, str) else k, -1)
                       for k in kind_uniques] + [-1], dtype=np.int8)
        self.anomalies["unknown_kind"] += sum(
            int((kind_codes == i).sum()) for i, k in enumerate(kind_uniques)
            if (k.upper() if isinstance(k, str) else k) not in _KIND_CODE)
        remote = self.services.encode(col["remote"])
        ip = self.endpoints.encode([a or b for a, b in zip(col["ipv4"], col["ipv6"], strict=True)])
        codes, uniques = pd.factorize(np.array(col["status"], dtype=object))
        status = np.array([_to_int(u) for u in uniques] + [-1], dtype=np.int32)[codes]
        otel = col["otel.status_code"]
        otel_error = np.array([v == "ERROR" for v in otel], dtype=bool) \
            if otel.count(None) != n else np.zeros(n, dtype=bool)
        out = {
            "trace": trace_no,
            "span_id": col["id"],
            "parent_id": col["parentId"],
            "service": self.services.encode(col["service"]),
            "name": self.names.encode(col["name"]),
            "kind": kt[kind_codes],
            "remote": remote,
            "start": ts,
            "duration": dur,
            "status": status,
            "error": np.array(col["error"], dtype=bool) | otel_error,
            "shared": np.array(col["shared"], dtype=bool),
            "endpoint": ip,
        }
        if self.keep_tags:
            out["tags"] = col["tags"]
        return out

    def frame(self) -> pd.DataFrame:
        """The spans DataFrame of everything added so far."""
        parts = self.parts
        cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64)
               for k in ("trace", "service", "name", "kind", "remote", "start", "duration",
                         "status", "error", "shared", "endpoint")}
        span_ids = _ids_array(list(chain.from_iterable(p["span_id"] for p in parts)))
        parent_ids = _ids_array(list(chain.from_iterable(p["parent_id"] for p in parts)))
        tags = list(chain.from_iterable(p["tags"] for p in parts)) if self.keep_tags else None
        self.parts = []
        keep = _one_copy_per_trace(self.trace_ids, self.trace_sizes, cat["trace"])
        if not keep.all():
            self.anomalies["duplicate_trace_copies"] += int(
                len(np.unique(cat["trace"][~keep])))
        bad = pd.isna(span_ids)
        self.anomalies["bad_span"] += int(bad.sum())
        keep &= ~bad
        if not keep.all():
            idx = np.flatnonzero(keep)
            cat = {k: v[idx] for k, v in cat.items()}
            span_ids, parent_ids = span_ids[idx], parent_ids[idx]
            tags = [tags[i] for i in idx] if tags is not None else None
        trace_codes, trace_cats = _trace_categories(self.trace_ids, cat["trace"])
        missing = cat["service"] < 0
        services = self.services
        if missing.any():
            self.anomalies["no_service"] += int(missing.sum())
        kind = pd.Categorical.from_codes(cat["kind"].astype(np.int64), categories=KINDS)
        df = pd.DataFrame({
            "trace_id": pd.Categorical.from_codes(trace_codes, categories=trace_cats),
            "span_id": span_ids,
            "parent_id": parent_ids,
            "service": services.categorical(cat["service"]),
            "name": self.names.categorical(cat["name"]),
            "kind": kind,
            "remote_service": services.categorical(cat["remote"]),
            "start_us": pd.arrays.IntegerArray(cat["start"], cat["start"] == 0),
            "duration_us": pd.arrays.IntegerArray(cat["duration"], cat["duration"] == 0),
            "status_code": pd.arrays.IntegerArray(
                np.maximum(cat["status"], 0).astype(np.int64), cat["status"] < 0),
            "error": cat["error"],
            "tags": tags if tags is not None else np.full(len(cat["trace"]), None, object),
            "shared": cat["shared"],
            "endpoint": self.endpoints.categorical(cat["endpoint"]),
        })
        self.anomalies["missing_timestamp"] += int((cat["start"] == 0).sum())
        self.anomalies["missing_duration"] += int((cat["duration"] == 0).sum())
        df = merge_fragments(df, self.anomalies)
        df.attrs["anomalies"] = {k: v for k, v in self.anomalies.items() if v}
        return df


def _ids_array(ids: list) -> np.ndarray:
    """Span ids as normalised strings (object array); short ids are left-padded."""
    arr = np.array(ids, dtype=object)
    try:
        if set(map(len, filter(None, ids))) <= {16}:
            return arr
    except TypeError:
        pass
    for i, v in enumerate(ids):
        if v is not None and (type(v) is not str or len(v) != 16):
            arr[i] = normalize_span_id(v)
    return arr


def _to_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _one_copy_per_trace(trace_ids: list[str], sizes: list[int], trace_no: np.ndarray):
    """Mask of rows to keep when a trace was read twice: the copy with the most spans wins."""
    if len(set(trace_ids)) == len(trace_ids):
        return np.ones(len(trace_no), dtype=bool)
    lists = pd.DataFrame({"tid": trace_ids, "size": sizes})
    best = lists.sort_values("size", ascending=False, kind="stable").drop_duplicates("tid")
    keep_list = np.zeros(len(trace_ids), dtype=bool)
    keep_list[best.index.to_numpy()] = True
    return keep_list[trace_no]


def _trace_categories(trace_ids: list[str], trace_no: np.ndarray):
    codes, uniques = pd.factorize(np.array(trace_ids, dtype=object)[trace_no])
    return codes, list(uniques)


def merge_fragments(df: pd.DataFrame, anomalies: Counter | None = None) -> pd.DataFrame:
    """Merge rows of one span reported in pieces; back-fill `shared` on a client's server half.

    Fragments are rows with the same trace, span id, local endpoint (service and IP) and kind.
    A kind-less fragment joins the SERVER (else CLIENT) row of its endpoint: Zipkin only merges
    equal `shared` flags, and so loses the kind-less fragments of shared servers.
    """
    anomalies = anomalies if anomalies is not None else Counter()
    trace = df["trace_id"].cat.codes.to_numpy()
    sid = hex_ids(df["span_id"].to_numpy())
    base = pd.DataFrame({"t": trace, "s": df["span_id"].to_numpy(),
                         "v": df["service"].cat.codes.to_numpy(),
                         "e": df["endpoint"].cat.codes.to_numpy()})
    hashed = mix_keys(sid, base["t"].to_numpy(), base["v"].to_numpy(), base["e"].to_numpy())
    dup = pd.Series(hashed).duplicated(keep=False).to_numpy()
    if dup.any():
        part = df[dup]
        key = base[dup].copy()
        kind = part["kind"].cat.codes.to_numpy().copy()
        # kind-less rows adopt the kind of their endpoint's SERVER (1), else CLIENT (0)
        kinded = pd.Series(np.where(kind < 0, 99, np.where(kind == 1, -1, kind)),
                           index=key.index)
        preferred = kinded.groupby([key["t"], key["s"], key["v"], key["e"]]).transform("min")
        preferred = np.where(preferred.to_numpy() == -1, 1, preferred.to_numpy())
        key["k"] = np.where(kind < 0, preferred, kind)
        groups = [key[c] for c in ("t", "s", "v", "e", "k")]
        grouped = part.groupby(groups, sort=False, observed=True, dropna=False)
        merged = grouped.agg(_merge_rules(df))
        merged["shared"] = grouped["shared"].any()
        end = (part["start_us"] + part["duration_us"]).groupby(
            groups, sort=False, observed=True, dropna=False).max()
        merged["duration_us"] = end.to_numpy() - merged["start_us"].to_numpy()
        merged = merged.reset_index(drop=True).astype(df.dtypes.to_dict())
        anomalies["fragments_merged"] += int(dup.sum() - len(merged))
        df = pd.concat([df[~dup], merged], ignore_index=True)
    # a SERVER that answers a CLIENT with the same id is the shared half (B3), flag or not
    server = (df["kind"] == "SERVER").to_numpy() & ~df["shared"].to_numpy()
    if server.any():
        if dup.any():
            trace = df["trace_id"].cat.codes.to_numpy()
            sid = hex_ids(df["span_id"].to_numpy())
        key = mix_keys(sid, trace)
        hit = np.isin(key[server], key[(df["kind"] == "CLIENT").to_numpy()])
        if hit.any():
            shared = df["shared"].to_numpy().copy()
            shared[np.flatnonzero(server)[hit]] = True
            df["shared"] = shared
            anomalies["shared_backfilled"] += int(hit.sum())
    return df


def _merge_rules(df: pd.DataFrame) -> dict:
    first = "first"  # groupby first() skips missing values
    rules = {c: first for c in df.columns if c not in ("shared",)}
    rules.update({"start_us": "min", "error": "max", "status_code": "max",
                  "tags": _merge_tags})
    return rules


def _merge_tags(values: pd.Series):
    dicts = [v for v in values if isinstance(v, dict)]
    if not dicts:
        return None
    merged: dict = {}
    for d in dicts:
        merged.update(d)
    return merged


def spans_frame(traces: Iterable, *, keep_tags: bool = True) -> pd.DataFrame:
    """Spans DataFrame from traces as the Zipkin API returns them (lists of span dicts)."""
    builder = SpansBuilder(keep_tags=keep_tags)
    builder.add(traces)
    return builder.frame()


def read_spans(path: str | Path, *, keep_tags: bool = True, progress=None) -> pd.DataFrame:
    """Spans DataFrame from a saved `/api/v2/traces` (or `/api/v2/trace/{id}`) JSON file."""
    builder = SpansBuilder(keep_tags=keep_tags)
    gc.disable()  # parsing makes millions of acyclic objects; collections only cost time
    try:
        with open(path, "rb") as fh:
            for chunk in iter_trace_chunks(fh):
                builder.add(chunk)
                if progress is not None:
                    progress(fh.tell())
    finally:
        gc.enable()
    return builder.frame()
