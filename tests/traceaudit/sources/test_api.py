"""The notebook's API: `traceaudit.open_source()` and `traceaudit.load_spans()`."""

from __future__ import annotations

import orjson

import traceaudit
from tests.traceaudit.sources._contract import generated, window_of
from tests.traceaudit.sources._replay import Replay, jaeger_route
from traceaudit.sources._export import to_jaeger


def test_load_spans_from_a_backend_and_from_a_file(tmp_path):
    traces = generated(12)
    window = window_of(traces)
    with Replay(jaeger_route(traces)) as server:
        source = traceaudit.open_source(f"jaeger+{server.url}")
        assert (source.kind, source.url) == ("jaeger", server.url)
        spans = traceaudit.load_spans(f"jaeger+{server.url}", since=window.start.isoformat(),
                                      until=window.end.isoformat())
    assert spans["trace_id"].nunique() == 12 and spans.attrs["cut_off"] is False
    path = tmp_path / "j.json"
    path.write_bytes(orjson.dumps(to_jaeger(traces)))
    from_file = traceaudit.load_spans(str(path), keep_tags=False)
    assert len(from_file) == len(spans) == sum(map(len, traces))
