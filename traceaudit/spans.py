"""Zipkin v2 JSON → the spans DataFrame (one row per span, columnar, vectorised).

Columns: `trace_id, span_id, parent_id, service, name, kind, remote_service, start_us,
duration_us, status_code, error, tags`, plus `shared` (the server half of a B3 RPC that reuses
its client's span id), `endpoint` (the host key used for clock-skew correction) and
`span_key`/`parent_key` (the ids as uint64, 0 if absent, so the analysis never re-parses hex).
Normalised as Zipkin's own read path does: ids lower-case and left-padded, names lower-cased,
one copy of a trace fetched twice, fragments of one span merged, `shared` back-filled.
Every oddity is counted in `frame.attrs["anomalies"]`.
"""

from __future__ import annotations

import gc
import operator
from collections import Counter
from collections.abc import Iterable
from itertools import chain, compress, repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec
import numpy as np
import pandas as pd

from traceaudit._jsonstream import iter_trace_chunks
from traceaudit.ids import KINDS, normalize_span_id, normalize_trace_id

COLUMNS = ["trace_id", "span_id", "parent_id", "service", "name", "kind", "remote_service",
           "start_us", "duration_us", "status_code", "error", "tags"]
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_KIND_LOOKUP = {None: -1, **_KIND_CODE}
_EMPTY: dict = {}
_MIX = np.uint64(0x9E3779B97F4A7C15)


def mix_keys(ids: np.ndarray, *parts: np.ndarray) -> np.ndarray:
    """One uint64 hash of a span id and small-int parts (equal inputs → equal keys)."""
    key = ids.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        for part in parts:
            key = (key ^ (part.astype(np.uint64) + np.uint64(1))) * _MIX
    return key


def hex_ids(values) -> np.ndarray:
    """Span ids (16-hex strings, None for absent) → uint64; absent or invalid → 0."""
    return _span_ids(values)[0]


def id_keys(spans: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Span and parent ids as uint64 (0: absent): the frame's key columns, else parsed."""
    if "span_key" in spans and "parent_key" in spans:
        return (spans["span_key"].to_numpy(dtype=np.uint64),
                spans["parent_key"].to_numpy(dtype=np.uint64))
    return hex_ids(spans["span_id"].to_numpy()), hex_ids(spans["parent_id"].to_numpy())


_ZERO_ID = "0" * 16
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16)
_HEX_VALUE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16) + 16  # +16 flags upper case


def _hex_digits(values: list, width: int) -> np.ndarray | None:
    """(n, width) digit values (255: not hex, +16: upper case) of strings of exactly `width`
    characters, or None if any value is not such a string (the caller then goes slowly)."""
    if not values:
        return np.zeros((0, width), np.uint8)
    try:  # joined with commas: fast on a list, slow on an object array
        raw = ",".join(values).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if len(raw) != (width + 1) * len(values) - 1:
        return None
    grid = np.frombuffer(raw + b",", np.uint8).reshape(len(values), width + 1)
    # a comma anywhere else, or a value of another length, puts a comma in a digit cell (255)
    if not (grid[:, width] == ord(",")).all():
        return None
    return _HEX_VALUE.take(grid[:, :width])


def _lower_hex_ids(values: list) -> np.ndarray | None:
    """uint64 of ids that are all 16 lower-hex characters (the usual case), else None."""
    n = len(values)
    try:
        joined = " ".join(values)
    except TypeError:
        return None
    # a space anywhere but between two values, or a value of another length, is caught here
    # or (inside a value) by the byte count: fromhex skips whitespace between bytes
    if not n or len(joined) != 17 * n - 1 or joined[16::17] != " " * (n - 1) \
            or joined.lower() != joined:
        return None
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    return np.frombuffer(raw, ">u8").astype(np.uint64) if len(raw) == 8 * n else None


def _span_ids(values) -> tuple[np.ndarray, np.ndarray]:
    """Span ids → (uint64, 0 if absent or invalid; normalised strings, None if so)."""
    if isinstance(values, list) and (keys := _lower_hex_ids(values)) is not None:
        ids = np.array(values, dtype=object)
        if not keys.all():  # all zeros is no id
            ids[keys == 0] = None
        return keys, ids
    ids = np.array(values, dtype=object)
    if isinstance(values, np.ndarray):  # from a frame: NaN for absent
        ids[pd.isna(ids)] = None
    if not len(ids):
        return np.zeros(0, np.uint64), ids
    absent = np.equal(ids, None)
    if absent.any():
        filled = ids.copy()
        filled[absent] = _ZERO_ID
        filled = filled.tolist()
    else:
        filled = values if isinstance(values, list) else ids.tolist()
    digits = _hex_digits(filled, 16)
    if digits is None or (digits == 255).any():
        norm = np.array([normalize_span_id(v) for v in ids], dtype=object)
        return np.array([0 if v is None else int(v, 16) for v in norm], np.uint64), norm
    if (digits >= 16).any():  # upper case: lower it, as Zipkin does
        upper = (digits >= 16).any(axis=1)
        digits = digits & 15
        ids[upper] = [v.lower() for v in ids[upper]]
    packed = (digits[:, 0::2] << 4) | digits[:, 1::2]
    out = packed.view(">u8").ravel().astype(np.uint64)
    if (out == 0).any():  # all zeros is no id
        ids[out == 0] = None
    return out, ids


def _trace_ids(values: list) -> list:
    """First-span trace ids → normalised (None if unusable), vectorised for the usual case."""
    for width in (32, 16):  # all lower-hex of one width, none with a zero (high) half
        digits = _hex_digits(values, width)
        if digits is not None and not (digits >= 16).any() \
                and (digits[:, :16] != 0).any(axis=1).all():
            return values
    return [normalize_trace_id(v) for v in values]


class _Book:
    """Global string → code table, so each chunk's strings become small ints at once."""

    def __init__(self, lower: bool = True) -> None:
        self.codes: dict[str, int] = {}
        self.lower = lower

    def encode(self, values: list) -> np.ndarray:
        codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
        table = np.array([self.code(u) for u in uniques] + [-1], dtype=np.int32)
        return table[codes]

    def code(self, value) -> int:
        if not isinstance(value, str) or not value:
            return -1
        value = value.lower() if self.lower else value
        return self.codes.setdefault(value, len(self.codes))

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=list(self.codes) or ["?"])


class _Endpoint(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    serviceName: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None


def _tag(name: str):
    return msgspec.field(name=name, default=None)


class _Tags(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    """The tags the analysis reads; the parser skips all others without making objects."""

    error: str | None = None
    peer_service: str | None = _tag("peer.service")
    messaging_system: str | None = _tag("messaging.system")
    db_system: str | None = _tag("db.system")
    http_status_code: str | None = _tag("http.status_code")
    http_response_status_code: str | None = _tag("http.response.status_code")
    rpc_grpc_status_code: str | None = _tag("rpc.grpc.status_code")
    otel_status_code: str | None = _tag("otel.status_code")

    def peer(self) -> str | None:
        """The peer named by tags: peer.service, else the broker or the database system."""
        return self.peer_service or self.messaging_system or self.db_system

    def status(self) -> int:
        return _to_int(self.http_status_code or self.http_response_status_code
                       or self.rpc_grpc_status_code)

    def is_error(self) -> bool:
        return self.error is not None or self.otel_status_code == "ERROR"


_NO_ENDPOINT, _NO_TAGS = _Endpoint(), _Tags()


_Kind = Literal["CLIENT", "SERVER", "PRODUCER", "CONSUMER"]


class _Span(msgspec.Struct, gc=False):
    """A well-formed Zipkin v2 span; anything else fails to decode and goes the slow way.

    Endpoints and tags are frozen (hashable), so their few distinct values are read once each.
    """

    traceId: str | None = None
    id: str | None = None
    parentId: str | None = _ZERO_ID  # all zeros is no id: "absent" without a None to skip
    kind: _Kind | None = None  # the same four str objects on every span
    name: str | None = None
    timestamp: int = 0
    duration: int = 0
    shared: bool = False
    localEndpoint: _Endpoint = _NO_ENDPOINT
    remoteEndpoint: _Endpoint = _NO_ENDPOINT
    tags: _Tags = _NO_TAGS


class _TaggedSpan(_Span, gc=False):
    """The same, keeping every tag."""

    tags: dict[str, str] | None = None


_SHAPE = attrgetter("kind", "name", "shared", "localEndpoint", "remoteEndpoint")
_SHAPE_AND_TAGS = attrgetter("kind", "name", "shared", "localEndpoint", "remoteEndpoint", "tags")


def _column(spans: list, field: str) -> list:
    return list(map(attrgetter(field), spans))


def _ints(spans: list, field: str) -> np.ndarray:
    values = _column(spans, field)
    try:
        out = np.fromiter(values, dtype=np.int64, count=len(values))
    except OverflowError:
        out = np.array([v if 0 < v < 2**63 else 0 for v in values], dtype=np.int64)
    return np.maximum(out, 0)


def _distinct(objects: list, common=None) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values of hashable objects; `common`, if given, is told apart by
    identity first (cheap when most objects are that one instance)."""
    n = len(objects)
    if common is None:
        return pd.factorize(np.fromiter(objects, dtype=object, count=n))
    rest = ~np.fromiter(map(operator.is_, objects, repeat(common)), dtype=bool, count=n)
    codes = np.zeros(n, dtype=np.int64)
    rest_codes, uniques = pd.factorize(np.fromiter(compress(objects, rest), dtype=object,
                                                   count=int(rest.sum())))
    codes[rest] = rest_codes + 1
    return codes, pd.Index([common, *uniques], dtype=object)


def _spread(codes: np.ndarray, values: list, dtype=np.int32, missing=-1) -> np.ndarray:
    """Per-distinct-value results back onto the rows (`missing` where the code is -1)."""
    return np.array([*values, missing], dtype=dtype)[codes]


def _checked_span(s) -> dict | None:
    """One span made safe for `_Span` (wrong types dropped), or None if it is no object."""
    if not isinstance(s, dict):
        return None
    out = {k: v for k in ("traceId", "id", "parentId", "name")
           if isinstance(v := s.get(k), str)}
    if isinstance(kind := s.get("kind"), str) and kind.upper() in _KIND_CODE:
        out["kind"] = kind.upper()  # not spelled as Zipkin does: upper-case it
    for k in ("timestamp", "duration"):
        v = s.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 2**63:
            out[k] = int(v)
    out["shared"] = s.get("shared") is True
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
        self.span_type = _TaggedSpan if keep_tags else _Span
        self.decoder = msgspec.json.Decoder(list[list[self.span_type]])
        self.names, self.services, self.endpoints = _Book(), _Book(), _Book(lower=False)
        self.anomalies: Counter = Counter()
        self.examples: dict[str, list[str]] = {}  # a few trace ids per anomaly kind
        self.trace_ids: list[str] = []
        self.trace_sizes: list[int] = []
        self.parts: list[dict] = []

    def add(self, traces: Iterable, *, decoded: bool = False) -> None:
        """Add a list of traces (each a list of span dicts); `decoded`: made by `decoder`."""
        traces = traces if isinstance(traces, list) else list(traces)
        if not decoded:
            try:
                traces = msgspec.convert(traces, list[list[self.span_type]])
            except msgspec.ValidationError:
                traces = [self._checked_trace(t) for t in traces]
        kept = [t for t in traces if t]
        self.anomalies["bad_trace"] += len(traces) - len(kept)
        if not kept:
            return
        tids = _trace_ids(list(map(attrgetter("traceId"), map(itemgetter(0), kept))))
        if None in tids:  # fall back to any span with a usable id
            tids = [tid or self._trace_id(t) for tid, t in zip(tids, kept, strict=True)]
            good = [tid is not None for tid in tids]
            self.anomalies["bad_trace"] += good.count(False)
            kept = list(compress(kept, good))
            tids = list(compress(tids, good))
            if not kept:
                return
        sizes = list(map(len, kept))
        first = len(self.trace_ids)
        self.trace_ids.extend(tids)
        self.trace_sizes.extend(sizes)
        trace_no = np.repeat(np.arange(first, first + len(sizes)), sizes)
        spans = list(chain.from_iterable(kept))
        self._count_mixed_ids(kept, tids, spans)
        self.parts.append(self._columns(spans, trace_no))

    def _count_mixed_ids(self, kept: list, tids: list, spans: list) -> None:
        """Count traces whose spans carry both the 64-bit and the 128-bit form of their id
        (a Zipkin with STRICT_TRACE_ID=false serves them as one trace, as traceaudit reads it)."""
        if len(set(map(attrgetter("traceId"), spans))) <= len(set(tids)):
            return  # the usual case: one id per trace (checked at one set's cost)
        for trace in kept:
            forms = {normalize_trace_id(s.traceId) for s in trace} - {None}
            if len({f[-16:] for f in forms}) == 1 and len({len(f) for f in forms}) > 1:
                self.anomalies["trace_id_halves_joined"] += 1
                self.examples.setdefault("trace_id_halves_joined", []).append(
                    max(forms, key=len))

    def typed(self, chunk: list) -> bool:
        """Whether a chunk from `iter_trace_chunks` is `decoder`'s (all of it is, or none)."""
        first = next((t for t in chunk if t), None)
        return isinstance(first, list) and isinstance(first[0], self.span_type)

    def _checked_trace(self, trace) -> list | None:
        if not isinstance(trace, list) or not trace:
            return None
        checked = [c for c in map(_checked_span, trace) if c is not None]
        if not checked:  # nothing like a span: a bad trace, not bad spans
            return None
        self.anomalies["bad_span"] += len(trace) - len(checked)
        self.anomalies["unknown_kind"] += sum(
            isinstance(k := s.get("kind"), str) and k.upper() not in _KIND_CODE
            for s in trace if isinstance(s, dict))
        return msgspec.convert(checked, list[self.span_type])

    @staticmethod
    def _trace_id(trace: list) -> str | None:
        for span in trace:
            if tid := normalize_trace_id(span.traceId):
                return tid
        return None

    def _columns(self, spans: list, trace_no: np.ndarray) -> dict:
        n = len(spans)
        sid, sid_text = _span_ids(_column(spans, "id"))
        pid, pid_text = _span_ids(_column(spans, "parentId"))
        raw_tags = _column(spans, "tags") if self.keep_tags else None
        if raw_tags is not None:
            tags = msgspec.convert([t or _EMPTY for t in raw_tags], list[_Tags])
            shapes = map(operator.add, map(_SHAPE, spans), zip(tags))
        else:
            shapes = map(_SHAPE_AND_TAGS, spans)
        # a few hundred shapes (kind, name, shared, endpoints, tags read) cover most spans:
        # what follows is computed once per shape and spread onto its spans
        rows, distinct = pd.factorize(np.fromiter(shapes, dtype=object, count=n))
        kinds, names, shared, local, remote_ep, tags = map(list, zip(*distinct, strict=True))
        local_codes, locals_ = _distinct(local)
        remote_codes, remotes = _distinct(remote_ep, _NO_ENDPOINT)
        tag_codes, distinct_tags = _distinct(tags)
        code = self.services.code
        remote = _spread(remote_codes, [code(e.serviceName) for e in remotes])
        by_tags = remote < 0  # the peer: remoteEndpoint, else what the tags name
        if by_tags.any():
            peers = np.full(len(distinct_tags) + 1, -1, dtype=np.int32)
            used = np.unique(tag_codes[by_tags])  # code only what is used: no unused categories
            peers[used] = [code(distinct_tags[i].peer()) for i in used]
            remote[by_tags] = peers[tag_codes[by_tags]]
        per_shape = {
            "service": _spread(local_codes, [code(e.serviceName) for e in locals_]),
            "name": self.names.encode(names),
            "kind": np.fromiter(map(_KIND_LOOKUP.__getitem__, kinds), np.int8, len(kinds)),
            "remote": remote,
            "status": _spread(tag_codes, [t.status() for t in distinct_tags]),
            "error": _spread(tag_codes, [t.is_error() for t in distinct_tags], bool, False),
            "shared": np.array(shared, dtype=bool),
            "endpoint": _spread(local_codes, [self.endpoints.code(e.ipv4 or e.ipv6)
                                              for e in locals_]),
        }
        out = {
            "trace": trace_no,
            "sid": sid,
            "pid": pid,
            "span_id": sid_text,
            "parent_id": pid_text,
            **{k: v[rows] for k, v in per_shape.items()},
            "start": _ints(spans, "timestamp"),
            "duration": _ints(spans, "duration"),
        }
        if raw_tags is not None:
            out["tags"] = raw_tags
        return out

    def frame(self) -> pd.DataFrame:
        """The spans DataFrame of everything added so far."""
        parts = self.parts
        cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64)
               for k in ("trace", "sid", "pid", "service", "name", "kind", "remote", "start",
                         "duration", "status", "error", "shared", "endpoint")}
        span_ids = np.concatenate([p["span_id"] for p in parts]) if parts \
            else np.zeros(0, object)
        parent_ids = np.concatenate([p["parent_id"] for p in parts]) if parts \
            else np.zeros(0, object)
        tags = list(chain.from_iterable(p["tags"] for p in parts)) if self.keep_tags else None
        self.parts = []
        keep = _one_copy_per_trace(self.trace_ids, self.trace_sizes, cat["trace"])
        if not keep.all():
            self.anomalies["duplicate_trace_copies"] += int(
                len(np.unique(cat["trace"][~keep])))
        bad = cat["sid"] == 0
        self.anomalies["bad_span"] += int(bad.sum())
        keep &= ~bad
        if not keep.all():
            idx = np.flatnonzero(keep)
            cat = {k: v[idx] for k, v in cat.items()}
            span_ids, parent_ids = span_ids[idx], parent_ids[idx]
            tags = [tags[i] for i in idx] if tags is not None else None
        trace_codes, trace_cats = _trace_categories(self.trace_ids, cat["trace"])
        trace_codes, trace_cats = self._join_halves(trace_codes, trace_cats)
        missing = cat["service"] < 0
        services = self.services
        if missing.any():
            self.anomalies["no_service"] += int(missing.sum())
        kind = pd.Categorical.from_codes(cat["kind"].astype(np.int64), categories=list(KINDS))
        df = pd.DataFrame({
            "trace_id": pd.Categorical.from_codes(trace_codes, categories=trace_cats),
            "span_id": _str_array(span_ids, cat["sid"] == 0),
            "parent_id": _str_array(parent_ids, cat["pid"] == 0),
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
            "span_key": cat["sid"],
            "parent_key": cat["pid"],
        }, copy=False)  # the arrays are new: no need to copy them again
        self.anomalies["missing_timestamp"] += int((cat["start"] == 0).sum())
        self.anomalies["missing_duration"] += int((cat["duration"] == 0).sum())
        df = merge_fragments(df, self.anomalies, self.examples)
        df.attrs["anomalies"] = {k: v for k, v in self.anomalies.items() if v}
        df.attrs["anomaly_examples"] = self.examples
        return df


    def _join_halves(self, codes: np.ndarray, cats: list[str]) -> tuple[np.ndarray, list]:
        """One trace for a 64-bit id and the 128-bit id it is the low half of (Zipkin's
        STRICT_TRACE_ID=false): the 128-bit form names both."""
        lengths = np.fromiter(map(len, cats), dtype=np.int64, count=len(cats))
        if not (lengths == 16).any() or not (lengths == 32).any():
            return codes, cats  # one width only: nothing to join
        low = {cats[i][16:]: i for i in np.flatnonzero(lengths == 32)}
        into = {i: low[t] for i, t in enumerate(cats) if len(t) == 16 and t in low}
        if not into:
            return codes, cats
        self.anomalies["trace_id_halves_joined"] += len(into)
        self.examples.setdefault("trace_id_halves_joined", []).extend(
            cats[j] for j in list(into.values())[:3])
        remap = np.arange(len(cats))
        for i, j in into.items():
            remap[i] = j
        keep = np.ones(len(cats), dtype=bool)
        keep[list(into)] = False
        renumber = np.cumsum(keep) - 1
        return renumber[remap[codes]], [t for t, k in zip(cats, keep, strict=True) if k]


def _str_array(ids: np.ndarray, absent: np.ndarray):
    """`pd.array(ids, dtype="str")` of str-or-None ids (None where `absent`; `ids` is filled
    in place), built without checking each value again when the string storage is Python's."""
    dtype = pd.api.types.pandas_dtype("str")
    if getattr(dtype, "storage", None) != "python":
        return pd.array(ids, dtype=dtype)
    ids[absent] = dtype.na_value
    return pd.arrays.StringArray(ids, dtype=dtype)


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
    """Row codes and categories of the trace ids, in order of appearance, only those in rows."""
    list_codes, uniques = pd.factorize(np.array(trace_ids, dtype=object))
    used = np.zeros(len(uniques), dtype=bool)
    used[list_codes[trace_no]] = True
    renumber = np.cumsum(used) - 1
    return renumber[list_codes[trace_no]], list(uniques[used])


def merge_fragments(df: pd.DataFrame, anomalies: Counter | None = None,
                    examples: dict | None = None) -> pd.DataFrame:
    """Merge rows of one span reported in pieces; back-fill `shared` on a client's server half.

    Fragments are rows with the same trace, span id, local endpoint (service and IP) and kind.
    A kind-less fragment joins the SERVER (else CLIENT) row of its endpoint: Zipkin only merges
    equal `shared` flags, and so loses the kind-less fragments of shared servers.
    """
    anomalies = anomalies if anomalies is not None else Counter()
    trace = df["trace_id"].cat.codes.to_numpy()
    sid = id_keys(df)[0]
    service, endpoint = df["service"].cat.codes.to_numpy(), df["endpoint"].cat.codes.to_numpy()
    keys = pd.Index(mix_keys(sid, trace, service, endpoint))
    dup = np.zeros(len(keys), dtype=bool) if keys.is_unique else keys.duplicated(keep=False)
    if dup.any():
        base = pd.DataFrame({"t": trace, "s": df["span_id"].to_numpy(), "v": service,
                             "e": endpoint})
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
        if "parent_key" in merged:  # the parent id may come from another fragment
            merged["parent_key"] = hex_ids(merged["parent_id"].to_numpy())
        anomalies["fragments_merged"] += int(dup.sum() - len(merged))
        if examples is not None:
            examples.setdefault("fragments_merged", []).extend(
                map(str, part["trace_id"].astype(object).unique()[:3]))
        df = pd.concat([df[~dup], merged], ignore_index=True)
    # a SERVER that answers a CLIENT with the same id is the shared half (B3), flag or not
    server = (df["kind"] == "SERVER").to_numpy() & ~df["shared"].to_numpy()
    if server.any():
        if dup.any():
            trace = df["trace_id"].cat.codes.to_numpy()
            sid = id_keys(df)[0]
        key = mix_keys(sid, trace)
        clients = key[(df["kind"] == "CLIENT").to_numpy()]
        hit = pd.Series(key[server]).isin(clients).to_numpy()  # hashed: np.isin sorts
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
    """Spans DataFrame from a trace file: saved `/api/v2/traces` (or `/api/v2/trace/{id}`)
    JSON, Jaeger JSON or OTLP JSON (found from the content), gzip-compressed or not."""
    from traceaudit.sources.files import read_file

    return read_file(path, keep_tags=keep_tags, progress=progress)


def read_zipkin_stream(stream: BinaryIO, *, keep_tags: bool = True, progress=None,
                       position=None) -> pd.DataFrame:
    """Spans DataFrame from a binary stream of `/api/v2/traces` JSON, read in chunks;
    `progress(position())` after each chunk (default position: the stream's)."""
    builder = SpansBuilder(keep_tags=keep_tags)
    position = position or stream.tell
    gc.disable()  # parsing makes millions of acyclic objects; collections only cost time
    try:
        for chunk in iter_trace_chunks(stream, decoder=builder.decoder):
            builder.add(chunk, decoded=builder.typed(chunk))
            if progress is not None:
                progress(position())
    finally:
        gc.enable()
    return builder.frame()
