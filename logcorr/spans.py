"""The trace's spans for the report, through the traceaudit API (one place to switch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logcorr.ids import normalize_id, same_trace

if TYPE_CHECKING:
    import pandas as pd


class SpansUnavailable(RuntimeError):
    """Spans could not be loaded (Zipkin down, a bad file, no such trace)."""


def load_spans(
    trace_id: str, *, zipkin_url: str | None = None, spans_file: str | None = None,
    trace: list[dict] | None = None,
) -> pd.DataFrame:
    """The spans DataFrame (traceaudit columns) of one trace from a Zipkin, a JSON file or
    `trace`, its Zipkin v2 spans already in hand."""
    from traceaudit.spans import read_spans, spans_frame

    tid = normalize_id(trace_id)
    if trace is not None:
        frame = spans_frame([trace])
    elif spans_file:
        try:
            frame = read_spans(spans_file)
        except (OSError, ValueError) as exc:
            raise SpansUnavailable(f"{spans_file}: {exc}") from exc
    else:
        frame = spans_frame([_fetch_trace(zipkin_url or "", tid or trace_id)])
    mine = frame[[same_trace(normalize_id(t), tid) for t in frame["trace_id"]]]
    if mine.empty:
        source = "the given spans" if trace is not None else spans_file or zipkin_url
        raise SpansUnavailable(f"no spans of trace {trace_id} in {source}")
    return mine.reset_index(drop=True)


def _fetch_trace(base_url: str, trace_id: str) -> list[dict]:
    """GET /api/v2/trace/{id} through traceaudit's Zipkin client (retries, one-line errors)."""
    from traceaudit.zipkin import ZipkinClient, ZipkinError

    try:
        trace = ZipkinClient(base_url, timeout=10, attempts=2).get_json(f"trace/{trace_id}")
    except ZipkinError as exc:
        raise SpansUnavailable(f"Zipkin: {exc}") from exc
    if not isinstance(trace, list):
        raise SpansUnavailable(f"Zipkin at {base_url} answered something that is not a trace")
    return trace
