"""The trace's spans for the report, through the traceaudit API (one place to switch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from logcorr.ids import normalize_id, same_trace

if TYPE_CHECKING:
    import pandas as pd


class SpansUnavailable(RuntimeError):
    """Spans could not be loaded (Zipkin down, a bad file, no such trace)."""


def load_spans(
    trace_id: str, *, zipkin_url: str | None = None, spans_file: str | None = None,
    trace: list[dict] | None = None, trace_source: str | None = None,
    headers: Iterable[str] = (),
) -> pd.DataFrame:
    """The spans DataFrame (traceaudit columns) of one trace from a trace source
    (`trace_source`: a Zipkin URL, `jaeger+http://…`, `tempo+http://…`, or a file of any format
    traceaudit reads), a Zipkin, a JSON file or `trace`, its Zipkin v2 spans already in hand."""
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
        where = trace_source or zipkin_url or ""
        frame = spans_frame([_fetch_trace(where, tid or trace_id, zipkin=not trace_source,
                                          headers=headers)])
    mine = frame[[same_trace(normalize_id(t), tid) for t in frame["trace_id"]]]
    if mine.empty:
        source = "the given spans" if trace is not None else \
            spans_file or trace_source or zipkin_url
        raise SpansUnavailable(f"no spans of trace {trace_id} in {source}")
    return mine.reset_index(drop=True)


def _fetch_trace(where: str, trace_id: str, *, zipkin: bool,
                 headers: Iterable[str] = ()) -> list[dict]:
    """One trace's Zipkin v2 spans through a traceaudit trace source (retries, one-line
    errors); `zipkin`: `where` is a Zipkin base URL whatever its form."""
    from traceaudit.sources import SourceError, TraceNotFound, build_source

    try:
        source = build_source(where, source="zipkin" if zipkin else None, headers=headers,
                              timeout=10, attempts=2)
        return source.trace(trace_id)
    except TraceNotFound:
        return []
    except (SourceError, ValueError, OSError) as exc:
        raise SpansUnavailable(f"{'Zipkin: ' if zipkin else ''}{exc}") from exc
