"""The Tempo source against a stand-in Tempo (search, then each trace by id), see `_replay`."""

from __future__ import annotations

import pytest

from tests.traceaudit.sources._contract import (
    check_failures,
    generated,
    read_all,
    same_hops,
    window_of,
)
from tests.traceaudit.sources._replay import Replay, spelled_like_otel, tempo_route
from traceaudit.sources import SourceError, build_source
from traceaudit.sources.tempo import TempoSource

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def traces():
    return generated(60)


def test_a_window_larger_than_the_limit_is_read_whole(traces):
    with Replay(tempo_route(spelled_like_otel(traces))) as server:
        source = build_source(f"tempo+{server.url}")
        got = read_all(source, window_of(traces), limit=7)
        searches = server.paths("/api/search")
        fetched = server.paths("/api/v2/traces/")
    assert sorted(t[0]["traceId"] for t in got) == sorted(t[0]["traceId"] for t in traces)
    assert not source.cut_off and len(searches) > 60 / 7
    assert len(fetched) == 60  # every hit read whole, once
    _, query, _ = searches[-1]
    assert query["q"] == '{ resource.service.name = "gateway" && name = "POST /api/v1/orders" }'
    assert query["start"].isdigit() and int(query["end"]) - int(query["start"]) < 3600  # s
    same_hops(got, traces)


def test_a_second_still_full_is_reported_cut_off():
    crowded = generated(6, every_us=1_000)
    with Replay(tempo_route(crowded)) as server:
        source = TempoSource(server.url)
        got = read_all(source, window_of(crowded), limit=4)
    assert len(got) == 4 and source.cut_off


def test_the_tenant_header_is_sent_and_never_echoed(traces):
    with Replay(tempo_route(traces, tenant="team-a")) as server:
        source = build_source(server.url, source="tempo",
                              headers=["X-Scope-OrgID: team-a", "Authorization: Bearer s3cr3t"])
        assert len(read_all(source, window_of(traces))) == 60
        assert all(h["authorization"] == "Bearer s3cr3t" for _, _, h in server.requests)
        with pytest.raises(SourceError) as err:
            read_all(TempoSource(server.url, headers={"Authorization": "Bearer s3cr3t"}),
                     window_of(traces))
    assert str(err.value) == \
        f"{server.url}/api/v2/search/tag/resource.service.name/values: HTTP 401: no org id"
    assert "s3cr3t" not in str(err.value)


def test_failures_are_one_line_naming_the_url(traces):
    with Replay(tempo_route(traces)) as server:
        check_failures(TempoSource, server, "/api/search",
                       f"/api/v2/traces/{traces[0][0]['traceId']}")


def test_a_trace_gone_between_search_and_fetch_is_skipped(traces):
    with Replay(tempo_route(traces)) as server:
        source = TempoSource(server.url)
        server.fault(f"/api/v2/traces/{traces[3][0]['traceId']}", "status", 404)
        got = read_all(source, window_of(traces))
    assert len(got) == 59 and source.missing == 1


def test_recorded_search_and_trace(fixtures, expected_zipkin):
    """The note's search answer (one hit with a trimmed id) and its trace by id."""
    recorded = {"/api/search": (fixtures / "tempo-search.json").read_bytes(),
                f"/api/v2/traces/{TRACE}": (fixtures / "tempo-trace-v2.json").read_bytes()}
    with Replay(tempo_route([], recorded=recorded)) as server:
        source = TempoSource(server.url)
        got = read_all(source, window_of([[{"timestamp": 1795512612345678}]]))
        asked = [p for p, _, _ in server.paths("/api/v2/traces/")]
    assert sorted(asked) == sorted([f"/api/v2/traces/{TRACE}",
                            "/api/v2/traces/00a1b2c3d4e5f60718293a4b5c6d7e8f"])  # re-padded
    assert source.missing == 1  # the second hit's trace: 200 with an empty trace
    assert [{s["id"]: s for s in t} for t in got] == [{s["id"]: s for s in expected_zipkin}]
