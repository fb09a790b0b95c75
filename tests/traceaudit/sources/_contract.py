"""What every HTTP source must do against its stand-in (shared by test_jaeger and test_tempo)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from traceaudit import analyse, hop_table, spans_frame
from traceaudit._synth import order_traces
from traceaudit.sources import SourceError, TraceNotFound
from traceaudit.window import Window

START_US = 1_767_000_000_000_000
EVERY_US = 200_000  # five traces a second: a one-second window never holds more than 5


def generated(n: int = 60, every_us: int = EVERY_US, start_us: int = START_US,
              **kwargs) -> list[list[dict]]:
    return list(order_traces(n, start_us=start_us, every_us=every_us, **kwargs))


def window_of(traces, pad_s: int = 5) -> Window:
    lo = min(s["timestamp"] for t in traces for s in t) // 1_000_000 - pad_s
    hi = max(s["timestamp"] for t in traces for s in t) // 1_000_000 + pad_s
    return Window(datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC))


def read_all(source, window, **kwargs) -> list[list[dict]]:
    return [t for page in source.iter_pages(window, service="gateway",
                                            span="post /api/v1/orders", **kwargs)
            for t in page]


def same_hops(got: list[list[dict]], want: list[list[dict]]) -> None:
    """The hop table of what the source handed out is the one of the original traces."""
    pd.testing.assert_frame_equal(hop_table(analyse(spans_frame(got, keep_tags=False))),
                                  hop_table(analyse(spans_frame(want, keep_tags=False))))


def check_failures(source_for, server, search_prefix: str, trace_path: str) -> None:
    """404 trace, 500 (retried, then given up), timeout (retried), garbage: one-line errors."""
    source = source_for(server.url, timeout=0.5, attempts=3)
    with pytest.raises(TraceNotFound):
        source.trace("00000000000000000000000000abcdef")
    trace_id = trace_path.rsplit("/", 1)[1]
    server.fault(trace_path, "status", 500, times=2)  # two 500s, then the answer
    assert source.trace(trace_id)
    server.fault(trace_path, "status", 500, times=3)
    with pytest.raises(SourceError) as err:
        source.trace(trace_id)
    message = str(err.value)
    assert message.startswith(f"{server.url}/") and "HTTP 500: upstream storage unavailable" \
        in message and "\n" not in message
    server.fault(trace_path, "delay", 1.0, times=1)  # one timeout, then the answer
    assert source.trace(trace_id)
    server.fault(trace_path, "delay", 1.0, times=3)
    with pytest.raises(SourceError, match=r"timed out$"):
        source.trace(trace_id)
    server.fault(search_prefix, "garbage", times=1)
    with pytest.raises(SourceError, match="not JSON"):
        read_all(source, window_of(generated(1)))
