"""The Zipkin source's contract against a replayed Zipkin (the collector tests run the real
local one, tests/traceaudit/test_cli.py)."""

from __future__ import annotations

from tests.traceaudit.sources._contract import (
    check_failures,
    generated,
    read_all,
    same_hops,
    window_of,
)
from tests.traceaudit.sources._replay import Replay, zipkin_route
from traceaudit.sources import build_source
from traceaudit.sources.zipkin import ZipkinSource


def test_a_window_larger_than_the_limit_and_the_failures():
    traces = generated(40)
    with Replay(zipkin_route(traces)) as server:
        source = build_source(server.url)
        assert isinstance(source, ZipkinSource)
        got = read_all(source, window_of(traces), limit=7)
        assert len(got) == 40 and not source.cut_off
        same_hops(got, traces)
        assert source.services() == ["customer", "gateway", "notification", "order",
                                     "payment", "product"]
        check_failures(ZipkinSource, server, "/api/v2/traces",
                       f"/api/v2/trace/{traces[0][0]['traceId']}")
