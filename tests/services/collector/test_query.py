"""Parsing of the read API's parameters, as zipkin2's QueryRequest parses them."""

from __future__ import annotations

import pytest

from services.collector.query import (
    QueryError,
    parse_annotation_query,
    parse_trace_ids,
    parse_trace_query,
)

DAY_MS = 86_400_000


def test_defaults_are_those_of_the_zipkin_server() -> None:
    query = parse_trace_query({}, DAY_MS)
    assert (query.limit, query.lookback, query.service_name, query.min_duration) == (
        10, DAY_MS, None, None
    )  # fmt: skip


def test_names_are_lower_cased_and_span_name_all_means_any() -> None:
    query = parse_trace_query(
        {"serviceName": "FrontEnd", "spanName": "all", "remoteServiceName": ""}, DAY_MS
    )
    assert query.service_name == "frontend"
    assert query.span_name is None
    assert query.remote_service_name is None


def test_window_is_end_minus_lookback_in_microseconds() -> None:
    query = parse_trace_query({"endTs": "2000", "lookback": "500"}, DAY_MS)
    assert query.window_us == (1_500_000, 2_000_000)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"endTs": "0"}, "endTs should be positive"),
        ({"lookback": "-1"}, "lookback should be positive"),
        ({"limit": "0"}, "limit should be positive"),
        ({"minDuration": "0"}, "minDuration should be positive"),
        ({"maxDuration": "5"}, "maxDuration is only valid with minDuration"),
        ({"minDuration": "10", "maxDuration": "5"}, "maxDuration should be >= minDuration"),
        ({"limit": "ten"}, "limit should be a number"),
    ],
)
def test_invalid_parameters_are_refused(params: dict, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_trace_query(params, DAY_MS)


def test_annotation_query_grammar() -> None:
    assert parse_annotation_query("http.uri=/foo and retried") == {
        "http.uri": "/foo",
        "retried": "",
    }
    assert parse_annotation_query(" error = 500 and error") == {"error": "500"}  # bare key loses
    assert parse_annotation_query("error and error=500") == {"error": "500"}  # later value wins
    assert parse_annotation_query("a=b=c and k=") == {"a": "b=c", "k": ""}
    assert parse_annotation_query("x AND y") == {"x AND y": ""}  # only lower-case " and " splits
    assert parse_annotation_query("") == {}


def test_trace_many_ids_must_be_two_or_more_and_distinct() -> None:
    assert parse_trace_ids(" a , 000000000000000b") == ["000000000000000a", "000000000000000b"]
    with pytest.raises(QueryError, match="traceIds parameter is empty"):
        parse_trace_ids(",")
    with pytest.raises(QueryError, match="/api/v2/trace/"):
        parse_trace_ids("000000000000000a")
    with pytest.raises(QueryError, match="redundant traceId: 000000000000000a"):
        parse_trace_ids("a,000000000000000a")


def test_extreme_windows_are_clamped_to_64_bit_microseconds() -> None:
    query = parse_trace_query({"endTs": str(2**63 - 1), "lookback": str(2**63 - 1)}, DAY_MS)
    assert query.window_us == (0, 2**63 - 1)
