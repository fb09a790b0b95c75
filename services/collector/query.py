"""Query parameters of the Zipkin v2 read API, parsed and checked like zipkin2's `QueryRequest`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.collector.spans import normalise_trace_id

MAX_ANNOTATION_TERMS = 100


class QueryError(ValueError):
    """A query parameter the Zipkin server would refuse with 400."""


@dataclass(frozen=True)
class TraceQuery:
    """What `/api/v2/traces` asks for. Durations in µs; `end_ts`/`lookback` in ms."""

    end_ts: int
    lookback: int
    limit: int = 10
    service_name: str | None = None
    remote_service_name: str | None = None
    span_name: str | None = None
    annotation_query: dict[str, str] = field(default_factory=dict)
    min_duration: int | None = None
    max_duration: int | None = None

    @property
    def window_us(self) -> tuple[int, int]:
        """Inclusive window of the trace's root timestamp, in microseconds."""
        return window_us(self.end_ts, self.lookback)


def window_us(end_ts: int, lookback: int) -> tuple[int, int]:
    """`[endTs - lookback, endTs]` ms as µs, clamped to what a 64-bit timestamp can hold."""

    def clamp(value: int) -> int:
        return max(-(2**63), min(2**63 - 1, value))

    return clamp((end_ts - lookback) * 1000), clamp(end_ts * 1000)


def parse_trace_query(params: Mapping[str, str], default_lookback: int) -> TraceQuery:
    """Build a `TraceQuery` from URL parameters; `QueryError` (→ 400) names the bad one."""
    end_ts = _positive_long(params, "endTs")
    lookback = _positive_long(params, "lookback")
    limit = _positive_long(params, "limit")
    min_duration = _positive_long(params, "minDuration")
    max_duration = _long(params, "maxDuration")
    if max_duration is not None:
        if min_duration is None:
            raise QueryError("maxDuration is only valid with minDuration")
        if max_duration < min_duration:
            raise QueryError("maxDuration should be >= minDuration")
    span_name = _name(params, "spanName")
    return TraceQuery(
        end_ts=end_ts if end_ts is not None else int(time.time() * 1000),
        lookback=lookback if lookback is not None else default_lookback,
        limit=limit if limit is not None else 10,
        service_name=_name(params, "serviceName"),
        remote_service_name=_name(params, "remoteServiceName"),
        span_name=None if span_name == "all" else span_name,
        annotation_query=parse_annotation_query(params.get("annotationQuery") or ""),
        min_duration=min_duration,
        max_duration=max_duration,
    )


def parse_annotation_query(text: str) -> dict[str, str]:
    """`http.uri=/foo and retried` → `{"http.uri": "/foo", "retried": ""}` (Zipkin's grammar).

    A bare key never overrides an earlier `key=value`; a later `key=value` does.
    """
    terms: dict[str, str] = {}
    if not text.strip():
        return terms
    parts = text.split(" and ")
    if len(parts) > MAX_ANNOTATION_TERMS:
        raise QueryError(f"annotationQuery has more than {MAX_ANNOTATION_TERMS} terms")
    for part in parts:
        key, eq, value = part.partition("=")
        key = key.strip()
        if not key:
            continue
        if eq:
            terms[key] = value.strip()
        else:
            terms.setdefault(key, "")
    return terms


def parse_trace_ids(text: str | None) -> list[str]:
    """The `traceIds` of `/traceMany`: at least two, normalised, none repeated."""
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not ids:
        raise QueryError("traceIds parameter is empty")
    if len(ids) == 1:
        raise QueryError("Use /api/v2/trace/{traceId} endpoint to retrieve a single trace")
    seen: list[str] = []
    for raw in ids:
        trace_id = normalise_trace_id(raw)
        if trace_id in seen:
            raise QueryError(f"redundant traceId: {trace_id}")
        seen.append(trace_id)
    return seen


def required_name(params: Mapping[str, str], key: str) -> str:
    """A required, lower-cased name parameter (`serviceName` of `/spans`, …)."""
    value = _name(params, key)
    if value is None:
        raise QueryError(f"{key} is required")
    return value


def dependency_window(params: Mapping[str, str], default_lookback: int) -> tuple[int, int]:
    """The µs window of `/dependencies`: `endTs` (ms) required, `lookback` (ms) optional."""
    end_ts = _positive_long(params, "endTs")
    if end_ts is None:
        raise QueryError("endTs is required")
    lookback = _positive_long(params, "lookback")
    return window_us(end_ts, lookback if lookback is not None else default_lookback)


def _name(params: Mapping[str, str], key: str) -> str | None:
    value = (params.get(key) or "").strip().lower()
    return value or None


def _long(params: Mapping[str, str], key: str) -> int | None:
    text = params.get(key)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{key} should be a number: {text!r}") from None
    if not -(2**63) <= value < 2**63:
        raise QueryError(f"{key} out of range of a long")
    return value


def _positive_long(params: Mapping[str, str], key: str) -> int | None:
    value = _long(params, key)
    if value is not None and value <= 0:
        raise QueryError(f"{key} should be positive: {value}")
    return value
