"""Trace files of every format, found from their content, into the same spans frame."""

from __future__ import annotations

import gzip
import json

import orjson
import pandas as pd
import pytest

from traceaudit import read_spans
from traceaudit._synth import order_traces
from traceaudit.sources._export import to_jaeger, to_otlp, unshare
from traceaudit.sources.files import FileFormatError, detect, iter_file_traces


@pytest.fixture(scope="module")
def traces() -> list[list[dict]]:
    return list(order_traces(40, error_hop=None))


def _write(tmp_path, name: str, data: bytes, gz: bool = False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _files(tmp_path, traces, gz=False) -> dict:
    otlp_lines = b"\n".join(orjson.dumps(to_otlp([t])) for t in traces) + b"\n"
    return {
        "zipkin": _write(tmp_path, "z.json", orjson.dumps(traces), gz),
        "zipkin-spans": _write(tmp_path, "zs.json", orjson.dumps(
            [s for t in traces for s in t]), gz),
        "jaeger": _write(tmp_path, "j.json", orjson.dumps(to_jaeger(traces)), gz),
        "jaeger-list": _write(tmp_path, "jl.json", orjson.dumps(to_jaeger(traces)["data"]), gz),
        "jaeger-pretty": _write(tmp_path, "jp.json",
                                json.dumps(to_jaeger(traces[:1]), indent=2).encode(), gz),
        "otlp-lines": _write(tmp_path, "o.jsonl", otlp_lines, gz),
        "otlp-doc": _write(tmp_path, "o.json", json.dumps(to_otlp(traces), indent=1).encode(),
                           gz),
    }


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["trace_id", "parent_id", "service", "name", "kind", "remote_service", "start_us",
            "duration_us", "status_code", "error"]
    out = frame[cols].astype(object).astype(str)
    return out.sort_values(cols, ignore_index=True)


@pytest.mark.parametrize("gz", [False, True])
def test_every_format_gives_the_same_spans(tmp_path, traces, gz):
    files = _files(tmp_path, traces, gz)
    zipkin = read_spans(files["zipkin"])
    assert len(zipkin) == sum(map(len, traces)) and zipkin["trace_id"].nunique() == 40
    # the span ids of servers differ by design (no shared ids): compare everything else
    for name, path in files.items():
        frame = read_spans(path)
        want = zipkin if name != "jaeger-pretty" else \
            zipkin[zipkin["trace_id"] == traces[0][0]["traceId"]]
        assert len(frame) == len(want), name
        pd.testing.assert_frame_equal(_comparable(frame), _comparable(want), obj=name)


def test_detection_from_content():
    assert detect(b' [[{"traceId": "a"}]]') == "zipkin"
    assert detect(b'[{"traceId": "a", "id": "b"}]') == "zipkin"
    assert detect(b'[{"traceID": "a", "spans": []}]') == "jaeger"
    assert detect(b'{"data": [{"traceID": "a"}]}') == "jaeger"
    assert detect(b'{"traceID": "a", "spans": []}') == "jaeger"
    assert detect(b'{"resourceSpans": []}\n{"resourceSpans": []}') == "otlp"
    assert detect(b'{"batches": []}') == "otlp"
    assert detect(b'{"trace": {"resourceSpans": []}}') == "otlp"
    with pytest.raises(FileFormatError):
        detect(b"hello")


def test_a_list_of_spans_of_several_traces_is_cut_into_traces(tmp_path, traces):
    path = _write(tmp_path, "spans.json", orjson.dumps([s for t in traces[:3] for s in t]))
    assert read_spans(path)["trace_id"].nunique() == 3
    (chunk,) = iter_file_traces(path)
    assert sorted(map(len, chunk)) == sorted(map(len, traces[:3]))


def test_otlp_lines_skip_other_signals_and_blank_lines(tmp_path, traces):
    lines = [orjson.dumps(to_otlp([traces[0]])), b"", b'{"resourceMetrics": []}',
             orjson.dumps(to_otlp([traces[1]]))]
    frame = read_spans(_write(tmp_path, "mixed.jsonl", b"\n".join(lines)))
    assert frame["trace_id"].nunique() == 2


def test_one_trace_spread_over_many_lines_is_one_trace(tmp_path, traces):
    """The file exporter writes each service's batch on its own line."""
    doc = to_otlp([traces[0]])
    lines = [orjson.dumps({"resourceSpans": [rs]}) for rs in doc["resourceSpans"]]
    assert len(lines) > 3
    frame = read_spans(_write(tmp_path, "split.jsonl", b"\n".join(lines)))
    assert frame["trace_id"].nunique() == 1 and len(frame) == len(traces[0])


@pytest.mark.parametrize("data, reason", [
    (b"", "not a trace file"), (b"{\"resourceSpans\": [", "not valid JSON"),
    (b'{"resourceSpans": []}\n{oops', "line 2 is not valid JSON"),
    (b'{"data": null, "errors": [{"code": 404, "msg": "trace not found"}]}',
     "trace not found"),
])
def test_garbage_is_one_clear_error(tmp_path, data, reason):
    with pytest.raises(FileFormatError, match=reason):
        read_spans(_write(tmp_path, "bad.json", data))


def test_unshare_splits_zipkin_shared_ids_as_jaeger_does():
    trace = [
        {"traceId": "a" * 16, "id": "1" * 16, "kind": "CLIENT", "name": "c"},
        {"traceId": "a" * 16, "id": "1" * 16, "kind": "SERVER", "shared": True, "name": "s"},
        {"traceId": "a" * 16, "id": "2" * 16, "parentId": "1" * 16, "name": "work"},
    ]
    out = {s["name"]: s for s in unshare(trace)}
    assert out["s"]["id"] == "0000000000000001" and out["s"]["parentId"] == "1" * 16
    assert "shared" not in out["s"]
    assert out["work"]["parentId"] == "0000000000000001"  # re-parented under the server
    assert out["c"] == trace[0]


@pytest.mark.parametrize("name", ["otlp-file-exporter.jsonl", "jaeger-v3-trace.json",
                                  "tempo-trace-v2.json", "jaeger-v1-traces.json"])
def test_research_fixtures_read_as_files_keep_every_tag(fixtures, expected_zipkin, name):
    """The fast typed path (and its dict fallback for Tempo's base64) keeps the note's tags."""
    frame = read_spans(fixtures / name)
    got = {r.span_id: (r.kind, r.service, r.name, r.parent_id if isinstance(r.parent_id, str)
                       else None, r.error, r.tags) for r in frame.itertuples()}
    want = {s["id"]: (s["kind"], s["localEndpoint"]["serviceName"], s["name"],
                      s.get("parentId"), "error" in s["tags"], s["tags"])
            for s in expected_zipkin}
    assert got == want


def test_a_mapped_jaeger_file_of_another_shape_goes_through_the_dict_reader(tmp_path, traces):
    doc = to_jaeger(traces[:2])
    doc["data"][0]["spans"][0]["processID"] = 7  # no such process: a typed decode refuses it
    plain = _write(tmp_path, "j.json", b"\n  " + orjson.dumps(doc))  # mapped, not read
    packed = _write(tmp_path, "j.json.gz", b"\n  " + orjson.dumps(doc), gz=True)  # read
    frame = read_spans(plain)
    assert len(frame) == sum(map(len, traces[:2]))
    pd.testing.assert_frame_equal(_comparable(frame), _comparable(read_spans(packed)))
