"""Zipkin JSON → spans frame on the shared real samples, and the chunked reader."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pandas as pd

from traceaudit import analyse, build_tree, correct_skew, read_spans, spans_frame
from traceaudit._jsonstream import iter_trace_chunks
from traceaudit.spans import SpansBuilder


def test_smartthings_keeps_every_span_and_folds_empty_fragments(zipkin_samples):
    df = read_spans(zipkin_samples / "smartthings-mobile-web-install.json")
    # 1,041 raw spans; the 84 kind-less, timestamp-less fragments fold into their shared server
    # (the Zipkin UI instead loses 84 spans: 957 tree nodes of which 17 are empty fragments)
    assert len(df) == 957
    assert df.attrs["anomalies"]["fragments_merged"] == 84
    assert (df["kind"].isna() & df["start_us"].isna()).sum() == 0
    oauth = read_spans(zipkin_samples / "smartthings-oauth-authorization.json")
    assert len(oauth) == 172  # 175 → 172, as Zipkin's merge


def test_skew_is_corrected_as_the_zipkin_ui_does(zipkin_samples):
    df = read_spans(zipkin_samples / "skew.json")
    tree = build_tree(df)
    start, corrected = correct_skew(df, tree)
    by_name = dict(zip(df["name"].astype(str) + "/" + df["kind"].astype(object).fillna("-")
                       .astype(str), start, strict=True))
    # latency (94539 - 93577) // 2 = 481, skew = 4008761 - 481 - 4074202 = -65922
    assert by_name["post/SERVER"] == 1470150004074683
    assert by_name["async/-"] == 1470150004074684  # same host, propagated
    assert by_name["get/SERVER"] == 1470150004071068  # root unchanged
    assert corrected == 1


def test_headless_spans_are_counted(zipkin_samples):
    df = read_spans(zipkin_samples / "messaging2.json")
    tree = build_tree(df)
    assert tree.anomalies["orphans"] == 6


def test_yelp_root_critical_path_is_its_duration(zipkin_samples):
    df = read_spans(zipkin_samples / "yelp.json")
    a = analyse(df, service="routing", span="post /location/update/v4")
    assert len(a.traces) == 1
    assert a.traces["duration_us"].iloc[0] == 131_848
    assert a.attribution["cp_us"].sum() == 131_848


def test_ids_are_padded_and_bad_spans_counted():
    trace = [{"traceId": "00000000000000000000000000000abc", "id": "1", "name": "a",
              "timestamp": 10, "duration": 5, "localEndpoint": {"serviceName": "X"}},
             {"traceId": "abc", "id": "2", "parentId": "1", "timestamp": "junk"},
             "not a span", {"traceId": "abc", "id": "zz"}]
    df = spans_frame([trace, "not a trace"])
    assert list(df["trace_id"].astype(str).unique()) == ["0000000000000abc"]
    assert set(df["span_id"]) == {"0000000000000001", "0000000000000002"}
    assert df["service"].astype(str).iloc[0] == "x"  # lower-cased like Zipkin's ingest
    an = df.attrs["anomalies"]
    assert an["bad_span"] == 2 and an["bad_trace"] == 1


def test_a_trace_read_twice_is_kept_once():
    trace = [{"traceId": "a1", "id": "1", "timestamp": 1, "duration": 2}]
    df = spans_frame([trace, trace + [{"traceId": "a1", "id": "2", "parentId": "1"}]])
    assert len(df) == 2
    assert df.attrs["anomalies"]["duplicate_trace_copies"] == 1


def test_chunked_reader_survives_a_cut_pattern_inside_a_string():
    traces = [[{"traceId": f"{i:x}", "id": "1", "tags": {"v": "]  ,  [" * 50}}]
              for i in range(1, 400)]
    data = orjson.dumps(traces).replace(b"],[", b"],\n[")
    chunks = list(iter_trace_chunks(io.BytesIO(data), chunk_bytes=1024))
    assert len(chunks) > 5
    assert [t for c in chunks for t in c] == traces


def test_frame_columns_follow_the_design():
    df = spans_frame([[{"traceId": "a", "id": "1", "timestamp": 1, "duration": 1}]])
    assert list(df.columns[:12]) == ["trace_id", "span_id", "parent_id", "service", "name",
                                     "kind", "remote_service", "start_us", "duration_us",
                                     "status_code", "error", "tags"]
    assert np.issubdtype(df["error"].dtype, np.bool_)


def test_ids_are_lowered_padded_and_keyed_as_integers():
    trace = [{"traceId": "A1", "id": "00000000000000AB", "timestamp": 1, "duration": 9},
             {"traceId": "a1", "id": "cd", "parentId": "AB", "timestamp": 2, "duration": 3}]
    df = spans_frame([trace])
    assert list(df["span_id"]) == ["00000000000000ab", "00000000000000cd"]
    assert df["parent_id"].iloc[1] == "00000000000000ab"
    assert [int(v, 16) for v in df["span_id"]] == df["span_key"].tolist()
    assert df["parent_key"].tolist() == [0, 0xAB]


def test_odd_json_values_take_the_careful_path_without_losing_spans(tmp_path):
    good = [{"traceId": "b2", "id": "1", "name": "root", "timestamp": 10, "duration": 5,
             "localEndpoint": {"serviceName": "gw"}, "tags": {"http.status_code": "200"}}]
    odd = [{"traceId": "c3", "id": "1", "name": "root", "timestamp": None, "duration": 5.7,
            "localEndpoint": None, "tags": {"http.status_code": 503, "error": True}}]
    path = tmp_path / "traces.json"
    path.write_bytes(orjson.dumps([good, odd]))
    df = read_spans(path).set_index("trace_id")
    assert df.loc["00000000000000b2", "status_code"] == 200
    c3 = df.loc["00000000000000c3"]  # numbers where strings belong: read, not dropped
    assert (c3["status_code"], c3["error"], c3["duration_us"]) == (503, True, 5)
    assert pd.isna(c3["start_us"]) and c3["tags"] == {"http.status_code": "503", "error": "True"}


def test_chunked_reader_grows_for_long_traces_and_mixes_typed_and_plain_chunks():
    traces = [[{"traceId": f"{i:x}", "id": "1", "name": "n" * 300, "timestamp": i}]
              for i in range(1, 40)]
    traces[20][0]["timestamp"] = None  # no typed span: that chunk comes as plain dicts
    builder = SpansBuilder()
    chunks = list(iter_trace_chunks(io.BytesIO(orjson.dumps(traces)), chunk_bytes=256,
                                    decoder=builder.decoder))  # every trace > 256 bytes
    assert sum(map(len, chunks)) == 39
    assert {builder.typed(c) for c in chunks} == {True, False}
    for chunk in chunks:
        builder.add(chunk, decoded=builder.typed(chunk))
    df = builder.frame()
    assert len(df) == 39 and df["start_us"].isna().sum() == 1


def test_chunked_reader_survives_a_whole_trace_boundary_inside_a_string():
    traces = [[{"traceId": f"{i:x}", "id": "1", "tags": {"v": '{"a": [{}], [{}]}' * 30}}]
              for i in range(1, 200)]
    data = orjson.dumps(traces).replace(b"],[", b"], [")
    chunks = list(iter_trace_chunks(io.BytesIO(data), chunk_bytes=2048,
                                    decoder=SpansBuilder().decoder))
    assert len(chunks) > 5
    assert sum(map(len, chunks)) == len(traces)
