"""Each backend's wire format of the research note's one trace → the note's Zipkin spans."""

from __future__ import annotations

import json

import pytest

from traceaudit.ids import foreign_id, kind_name, status_name
from traceaudit.sources._convert import ConvertError, jaeger_spans, jaeger_traces, otlp_spans


def _by_id(spans: list[dict]) -> dict[str, dict]:
    return {s["id"]: {**s, "tags": dict(sorted(s["tags"].items()))} for s in spans}


def _otlp_lines(path) -> list[dict]:
    """One document, or one a line."""
    text = path.read_text()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [s for doc in docs for s in otlp_spans(doc)]


@pytest.mark.parametrize("name", ["otlp-file-exporter.jsonl", "jaeger-v3-trace.json",
                                  "tempo-trace-v2.json"])
def test_otlp_shapes_give_the_notes_zipkin_spans(fixtures, expected_zipkin, name):
    got = _by_id(_otlp_lines(fixtures / name))
    assert got == _by_id(expected_zipkin)


def test_jaeger_v1_gives_the_notes_spans_with_jaegers_truncated_durations(
        fixtures, expected_zipkin):
    traces = jaeger_traces(json.loads((fixtures / "jaeger-v1-traces.json").read_text()))
    got = _by_id([s for t in traces for s in jaeger_spans(t)])
    expected = _by_id(expected_zipkin)
    # Jaeger keeps end − start truncated to µs from ns: 48213 and 45120 (the note's §6.4)
    expected["00f067aa0ba902b7"]["duration"] = 48213
    expected["b7ad6b7169203331"]["duration"] = 45120
    assert got == expected


def test_jaeger_server_output_fixture(fixtures):
    """The real golden output of Jaeger's /api/transform: two server spans of telemetrygen."""
    doc = json.loads((fixtures / "jaeger-transform-otlp2jaeger-out.json").read_text())
    spans = [s for t in jaeger_traces(doc) for s in jaeger_spans(t)]
    assert [(s["kind"], s["localEndpoint"]["serviceName"], s["name"]) for s in spans] == \
        [("SERVER", "telemetrygen", "okey-dokey-0")] * 2


def test_tempo_v1_batches_and_old_names():
    doc = {"batches": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "Order"}}]},
        "instrumentationLibrarySpans": [{"instrumentationLibrary": {"name": "lib"}, "spans": [
            {"traceId": "AAAAAAAAAAAAAAAAAAAAAQ==", "spanId": "AAAAAAAAAAI=",
             "parentSpanId": "", "name": "GET", "kind": "SPAN_KIND_CLIENT",
             "startTimeUnixNano": "1000001500", "endTimeUnixNano": 1000003400,
             "attributes": [{"key": "peer.service", "value": {"stringValue": "Pay"}},
                            {"key": "retry", "value": {"boolValue": True}},
                            {"key": "ports", "value": {"arrayValue": {"values": [
                                {"intValue": "1"}, {"intValue": 2}]}}}],
             "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}}]}]}]}
    (span,) = otlp_spans(doc)
    assert span == {
        "traceId": "0000000000000001", "id": "0000000000000002", "kind": "CLIENT",
        "name": "get", "timestamp": 1000001, "duration": 2,  # 1000003 − 1000001
        "localEndpoint": {"serviceName": "order"}, "remoteEndpoint": {"serviceName": "pay"},
        "tags": {"peer.service": "Pay", "retry": "true", "ports": "[1,2]",
                 "otel.scope.name": "lib", "otel.status_code": "ERROR", "error": "boom"}}


def test_tempo_v2_not_found_is_an_empty_trace_and_garbage_is_refused():
    assert list(otlp_spans({"trace": {}, "metrics": {"inspectedBytes": "0"}})) == []
    with pytest.raises(ConvertError):
        list(otlp_spans({"hello": 1}))
    with pytest.raises(ConvertError):
        jaeger_traces({"data": None, "errors": [{"code": 404, "msg": "trace not found"}]})


def test_jaeger_parent_rule_and_error_by_presence():
    trace = {"traceID": "abc", "processes": {"p1": {"serviceName": "A"}}, "spans": [
        {"traceID": "0abc", "spanID": "2", "operationName": "x", "processID": "p1",
         "startTime": 10, "duration": 5,
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "abc", "spanID": "9"},
                        {"refType": "CHILD_OF", "traceID": "abc", "spanID": "1"},
                        {"refType": "CHILD_OF", "traceID": "other", "spanID": "7"}],
         "tags": [{"key": "span.kind", "type": "string", "value": "producer"},
                  {"key": "error", "type": "string", "value": "false"}]}]}
    (span,) = jaeger_spans(trace)
    assert span["traceId"] == "0000000000000abc"
    assert span["parentId"] == "0000000000000001"  # the CHILD_OF of this trace wins
    assert span["kind"] == "PRODUCER"
    assert span["tags"] == {"error": "false"}  # present: an error, whatever its value


def test_id_and_enum_rules():
    assert foreign_id("4BF92F3577B34DA6A3CE929D0E0E4736", 16) == \
        "4bf92f3577b34da6a3ce929d0e0e4736"
    assert foreign_id("S/kvNXezTaajzpKdDg5HNg==", 16) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert foreign_id("t61rcWkgMzE=", 8) == "b7ad6b7169203331"
    assert foreign_id("not an id!", 8) is None
    assert foreign_id("", 8) is None
    assert [kind_name(v) for v in (2, "SPAN_KIND_CLIENT", "server", 1, 0, "internal")] == \
        ["SERVER", "CLIENT", "SERVER", None, None, None]
    assert [status_name(v) for v in (2, "STATUS_CODE_OK", "ERROR", 0, None)] == \
        ["ERROR", "OK", "ERROR", None, None]
