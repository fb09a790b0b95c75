"""The Jaeger source against a stand-in Jaeger (api_v3 and the v1 /api), see `_replay`."""

from __future__ import annotations

import pytest

from tests.traceaudit.sources._contract import (
    check_failures,
    generated,
    read_all,
    same_hops,
    window_of,
)
from tests.traceaudit.sources._replay import Replay, jaeger_route, spelled_like_otel
from traceaudit.sources import SourceError, build_source
from traceaudit.sources.jaeger import JaegerSource

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def traces():
    return generated(60)


@pytest.mark.parametrize("api", ["v3", "v1"])
def test_a_window_larger_than_the_limit_is_read_whole(traces, api):
    with Replay(jaeger_route(spelled_like_otel(traces), api=api)) as server:
        source = build_source(f"jaeger+{server.url}")
        got = read_all(source, window_of(traces), limit=7)
        searches = server.paths("/api/v3/traces" if api == "v3" else "/api/traces")
    assert source.api == api
    assert sorted(t[0]["traceId"] for t in got) == sorted(t[0]["traceId"] for t in traces)
    assert not source.cut_off
    assert len(searches) > 60 / 7  # split windows, each answer under the limit
    # asked with Jaeger's spelling of the names, in the API's units
    _, query, _ = searches[-1]
    if api == "v3":
        assert query["query.service_name"] == "gateway"
        assert query["query.operation_name"] == "POST /api/v1/orders"
        assert query["query.start_time_min"].endswith("Z")
    else:
        assert query["operation"] == "POST /api/v1/orders"
        assert int(query["end"]) - int(query["start"]) < 3600 * 10**6  # µs
    same_hops(got, traces)


def test_an_empty_search_is_no_traces_not_an_error(traces):
    with Replay(jaeger_route(traces)) as server:
        source = JaegerSource(server.url)
        window = window_of(traces)
        assert read_all(source, window.__class__(window.start.replace(year=2020),
                                                 window.end.replace(year=2020))) == []


def test_a_window_still_full_at_one_millisecond_is_reported_cut_off():
    crowded = generated(6, every_us=1)  # six traces within 6 µs
    with Replay(jaeger_route(crowded)) as server:
        source = JaegerSource(server.url)
        got = read_all(source, window_of(crowded), limit=4)
    assert len(got) == 4 and source.cut_off


@pytest.mark.parametrize("api", ["v3", "v1"])
def test_failures_are_one_line_naming_the_url(traces, api):
    with Replay(jaeger_route(traces, api=api)) as server:
        tid = traces[0][0]["traceId"]
        path = f"/api/v3/traces/{tid}" if api == "v3" else f"/api/traces/{tid}"
        check_failures(lambda url, **kw: JaegerSource(url, api=api, **kw), server,
                       "/api/v3/traces" if api == "v3" else "/api/traces", path)


def test_a_jaeger_error_envelope_is_quoted():
    with Replay(jaeger_route([], api="v1")) as server, pytest.raises(SourceError) as err:
        JaegerSource(server.url).http.get_json("api/traces", {})
    assert str(err.value) == f"{server.url}/api/traces: HTTP 400: parameter 'service' is required"


def test_without_a_service_every_service_is_searched_once(traces):
    with Replay(jaeger_route(traces)) as server:
        source = JaegerSource(server.url)
        got = [t for p in source.iter_pages(window_of(traces), service=None) for t in p]
        asked = {q["query.service_name"] for _, q, _ in server.paths("/api/v3/traces")}
    assert len(got) == 60 and len({t[0]["traceId"] for t in got}) == 60
    assert asked == {"customer", "gateway", "notification", "order", "payment", "product"}


@pytest.mark.parametrize("api, name, durations", [
    ("v3", "jaeger-v3-trace.json", {}),
    ("v1", "jaeger-v1-traces.json", {"00f067aa0ba902b7": 48213, "b7ad6b7169203331": 45120}),
])
def test_recorded_shapes_give_the_notes_spans(fixtures, expected_zipkin, api, name, durations):
    path = f"/api/v3/traces/{TRACE}" if api == "v3" else f"/api/traces/{TRACE}"
    recorded = {path: (fixtures / name).read_bytes()}
    with Replay(jaeger_route([], api=api, recorded=recorded)) as server:
        spans = JaegerSource(server.url).trace(TRACE)
    want = {s["id"]: {**s, "duration": durations.get(s["id"], s["duration"])}
            for s in expected_zipkin}
    assert {s["id"]: s for s in spans} == want
