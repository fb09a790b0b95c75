"""Why a window changed: the culprit hop and the kind of change, with evidence and examples.

Evidence comes from what the spans say about themselves: span events (Zipkin annotations whose
value is `{"<event name>": {attributes}}`, as OpenTelemetry's Zipkin exporters write them —
`feature_flag.evaluation`, `circuit_breaker.state_change`, `exception`) and the tags that name an
outcome (`http.status_code`, `error`, `error.type`). Items whose share of traces changed between
the windows are listed under the hop (or local work) of the span they sit on; a feature flag
whose key starts with a hop's name is listed under that hop as well.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd

from traceaudit.outcomes import Sample
from traceaudit.significance import Change, Total
from traceaudit.spans import normalize_span_id, normalize_trace_id

KINDS = ("latency", "errors", "unreachable")
MIN_SHARE_CHANGE = 0.05  # evidence whose share of traces moved less than this is not listed
_STATUS_TAGS = ("http.status_code", "http.response.status_code", "rpc.grpc.status_code")


def _event_item(value: str) -> str | None:
    """One annotation value → an evidence item, or None for plain Zipkin annotations."""
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or len(doc) != 1:
        return None
    ((name, attrs),) = doc.items()
    attrs = attrs if isinstance(attrs, dict) else {}
    if name == "feature_flag.evaluation":
        return (f"flag {attrs.get('feature_flag.key', '?')}="
                f"{attrs.get('feature_flag.result.variant', '?')}")
    if name == "circuit_breaker.state_change":
        cause = str(attrs.get("circuit_breaker.cause") or "")
        cause = f" ({cause.split(':', 1)[0]})" if cause else ""
        return (f"breaker {attrs.get('circuit_breaker.target', '?')} "
                f"{attrs.get('circuit_breaker.from_state', '?')}→"
                f"{attrs.get('circuit_breaker.to_state', '?')}{cause}")
    if name == "exception":
        return f"exception {attrs.get('exception.type', '?')}"
    return f"event {name}"[:80]


def _tag_items(tags: dict) -> list[str]:
    """Failures the tags name: a status ≥ 400 (a 2xx says nothing the error rate does not),
    `error.type`, `error` (hex ids masked, so one message is one item)."""
    out = []
    for key in _STATUS_TAGS:
        if key in tags:
            if str(tags[key])[:1] not in ("1", "2", "3", "0"):
                out.append(f"status {tags[key]}")
            break
    if "error.type" in tags:
        out.append(f"error.type {str(tags['error.type'])[:60]}")
    error = tags.get("error")
    if error not in (None, ""):
        out.append(f"error {re.sub(r'[0-9a-f]{8,}', '…', str(error))[:60]}")
    return out


def evidence_items(traces: Iterable) -> pd.DataFrame:
    """Per span of raw Zipkin v2 traces: the evidence it carries (trace, span, service, item)."""
    rows: list[tuple] = []
    for trace in traces:
        for span in trace if isinstance(trace, list) else ():
            if not isinstance(span, dict):
                continue
            items = []
            for note in span.get("annotations") or ():
                if isinstance(note, dict) and (item := _event_item(note.get("value"))):
                    items.append(item)
            tags = span.get("tags")
            if isinstance(tags, dict) and tags:
                items.extend(_tag_items(tags))
            if not items:
                continue
            tid, sid = normalize_trace_id(span.get("traceId")), normalize_span_id(span.get("id"))
            if tid is None or sid is None:
                continue
            endpoint = span.get("localEndpoint")
            service = str((endpoint if isinstance(endpoint, dict) else {}).get("serviceName")
                          or "").lower()
            rows.extend((tid, sid, service, item) for item in items)
    return pd.DataFrame(rows, columns=["trace_id", "span_id", "service", "item"])


def attribute(items: pd.DataFrame, spans: pd.DataFrame | None) -> pd.DataFrame:
    """Evidence items with the bucket (hop or local work) of the span they sit on."""
    if spans is None or not len(items):
        return items.assign(bucket=pd.Series(dtype=object))
    key = pd.DataFrame({
        "trace_id": spans["trace_id"].astype(str),
        "span_id": spans["span_id"].astype(str), "service": spans["service"].astype(str),
        "bucket": spans["bucket"].astype(object)}).drop_duplicates(
            ["trace_id", "span_id", "service"])
    out = items.merge(key, on=["trace_id", "span_id", "service"], how="inner")
    return out[out["bucket"].notna()]


def changed_evidence(base: pd.DataFrame, cur: pd.DataFrame, n_base: int, n_cur: int,
                     hops: Iterable[str] = ()) -> pd.DataFrame:
    """Evidence whose share of traces changed by ≥ MIN_SHARE_CHANGE, per bucket, biggest first.

    `base`/`cur` come from `attribute`; shares are of each window's analysed traces.
    """
    hops = [h for h in hops if h]

    def shares(frame: pd.DataFrame, n: int) -> pd.Series:
        if not len(frame):
            return pd.Series(dtype=float)
        frame = frame[["trace_id", "bucket", "item"]]
        flags = frame[frame["item"].str.startswith("flag ")]
        breakers = frame[frame["item"].str.startswith("breaker ")]
        extra = []
        for hop in hops:  # a flag named after a hop, or its breaker, is evidence about it
            named = flags[flags["item"].str[5:].str.lower().str.startswith(hop.lower())]
            guarded = breakers[breakers["item"].str[8:].str.lower().str.startswith(
                hop.lower() + " ")]
            extra.extend([named.assign(bucket=hop), guarded.assign(bucket=hop)])
        frame = pd.concat([frame, *extra], ignore_index=True).drop_duplicates()
        return frame.groupby(["bucket", "item"])["trace_id"].nunique() / max(n, 1)

    b, c = shares(base, n_base), shares(cur, n_cur)
    index = b.index.union(c.index)
    if not len(index):
        return pd.DataFrame(columns=["bucket", "item", "baseline_share", "current_share",
                                     "delta_share"])
    out = pd.DataFrame({"baseline_share": b.reindex(index, fill_value=0.0),
                        "current_share": c.reindex(index, fill_value=0.0)})
    out["delta_share"] = out["current_share"] - out["baseline_share"]
    # a breaker changes state in one trace or two: any new transition is evidence
    rare = out.index.get_level_values(1).str.startswith("breaker ") & \
        (out["current_share"] > out["baseline_share"])
    out = out[(out["delta_share"].abs() >= MIN_SHARE_CHANGE) | rare].reset_index()
    out = out.rename(columns={"level_0": "bucket", "level_1": "item"})
    return out.sort_values("delta_share", key=lambda s: -s.abs(),
                           kind="stable").reset_index(drop=True)


@dataclass
class Verdict:
    """The culprit (None: no significant change), the kind of change, and the sentence."""

    hop: str | None
    kind: str | None  # one of KINDS
    summary: str
    evidence: list[str] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)  # baseline/current trace ids


def _pct(x: float) -> str:
    return "?" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _kind(hop: str, changes: list[Change], cur: Sample) -> str:
    mine = {c.measure: c for c in changes if c.hop == hop and c.significant
            and c.direction == "worse"}
    if hop not in cur.hops:  # local work: it failed on its own, or got slower
        return "errors" if "errors" in mine else "latency"
    if "errors" in mine or "calls" in mine:
        if hop in cur.hops:
            j = cur.hops.index(hop)
            errors = cur.server_errors[:, j].sum()
            timeouts = cur.timeouts[:, j].sum() if cur.timeouts is not None else 0
            if "errors" in mine and errors and timeouts >= errors / 2:
                return "latency"  # reached but too slow: its calls time out
            if "errors" in mine and errors and cur.transport_errors[:, j].sum() < errors / 2:
                return "errors"
        return "unreachable"
    return "latency"


def _examples(hop: str, kind: str, base: Sample, cur: Sample, k: int = 3) -> dict:
    def ids(s: Sample, mask: np.ndarray, weight: np.ndarray | None = None) -> list[str]:
        rows = np.flatnonzero(mask)
        if weight is not None and len(rows):
            rows = rows[np.argsort(-weight[rows], kind="stable")]
        return [str(t) for t in s.trace_ids[rows[:k]]]

    out = {}
    for side, s in (("baseline", base), ("current", cur)):
        if hop in s.buckets and kind == "latency":
            j = s.buckets.index(hop)
            med = np.median(s.cp_ms[:, j]) if s.n else 0.0
            weight = s.cp_ms[:, j] if side == "current" else -np.abs(s.cp_ms[:, j] - med)
            out[side] = ids(s, np.ones(s.n, bool), weight)
        elif hop in s.hops:
            j = s.hops.index(hop)
            failed = s.server_errors[:, j] > 0
            missing = s.expected[:, j] & (s.calls[:, j] == 0)
            mask = failed | missing if side == "current" else ~(failed | missing)
            out[side] = ids(s, mask)
        else:
            out[side] = [str(t) for t in s.trace_ids[:k]]
    return out


def explain(changes: list[Change], total: Total, base: Sample, cur: Sample,
            outcomes: pd.DataFrame, evidence: pd.DataFrame) -> Verdict:
    """Name the culprit: the first significant change for the worse (they come ranked)."""
    worse = [c for c in changes if c.significant and c.direction == "worse"]
    drift = "" if not np.isfinite(total.drift) else f", common drift ×{total.drift:.2f}"
    if not worse:
        return Verdict(None, None, f"no significant change (order {total.estimate_ms:+.1f} ms "
                       f"[{total.ci_low:+.1f}, {total.ci_high:+.1f}]{drift})")
    hop = worse[0].hop
    kind = _kind(hop, changes, cur)
    by = {c.measure: c for c in changes if c.hop == hop}
    if kind == "latency":
        lat = by["latency"]
        share = lat.estimate / total.estimate_ms if total.estimate_ms else math.nan
        summary = (f"{hop} {lat.estimate:+.1f} ms per order [{lat.ci_low:+.1f}, "
                   f"{lat.ci_high:+.1f}] = {_pct(share)} of the order's "
                   f"{total.estimate_ms:+.1f} ms")
    else:
        parts = []
        calls, errors = by.get("calls"), by.get("errors")
        if calls and calls.significant and calls.baseline:
            parts.append(f"calls {calls.estimate / calls.baseline:+.0%}")
        if errors:
            parts.append(f"errors {_pct(errors.baseline)} → {_pct(errors.current)}")
        summary = f"{hop}: " + ", ".join(parts) if parts else hop
        if kind == "unreachable":
            summary += " (not reached)"
    mine = evidence[evidence["bucket"] == hop] if len(evidence) else evidence
    breaker = [i for i in mine["item"] if i.startswith("breaker") and "→open" in i] \
        if len(mine) else []
    if kind != "latency" and breaker:
        summary += "; breaker opened"
    # the answer that rose most, among those that are not a plain success (202 is a fallback)
    other = outcomes[~outcomes["outcome"].isin(("200", "201", "204"))] if len(outcomes) \
        else outcomes
    if len(other):
        risen = other.sort_values("delta_share", ascending=False).iloc[0]
        if risen["delta_share"] >= MIN_SHARE_CHANGE and kind != "latency":
            summary += (f"; {_pct(risen['current_share'])} of orders answered "
                        f"{risen['outcome']} (was {_pct(risen['baseline_share'])})")
    items = [f"{r.item}: {_pct(r.baseline_share)} → {_pct(r.current_share)} of traces"
             for r in mine.itertuples()] if len(mine) else []
    return Verdict(hop, kind, summary, items, _examples(hop, kind, base, cur))
