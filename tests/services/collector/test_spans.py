"""Span normalisation: the ingest rules of the Zipkin server (V2SpanReader, Span.Builder)."""

from __future__ import annotations

import json
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.collector._proto import decode_proto, encode_proto
from services.collector.spans import SpanError, decode_json, normalise

TRACE = "463ac35c9f6413ad48485a3953bb6124"


def test_field_order_and_values_follow_zipkin() -> None:
    span = normalise(
        {
            "shared": True,
            "tags": {"z": "1", "a": "2"},
            "annotations": [{"timestamp": 2, "value": "b"}, {"timestamp": 1, "value": "z"}],
            "name": "GET /Api",
            "kind": "SERVER",
            "id": "a",
            "traceId": "A".lower(),
            "parentId": "0000000000000001",
            "localEndpoint": {"serviceName": "FrontEnd", "port": 8080},
            "unknownField": [1, 2],
        }
    )
    assert list(span) == [
        "traceId", "parentId", "id", "kind", "name", "localEndpoint", "annotations", "tags",
        "shared",
    ]  # fmt: skip
    assert span["traceId"] == "000000000000000a"
    assert span["id"] == "000000000000000a"
    assert span["name"] == "get /api"
    assert span["localEndpoint"] == {"serviceName": "frontend", "port": 8080}
    assert span["annotations"] == [{"timestamp": 1, "value": "z"}, {"timestamp": 2, "value": "b"}]
    assert list(span["tags"]) == ["a", "z"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "0000000000000001"),
        ("0000000000000000" + "48485a3953bb6124", "48485a3953bb6124"),  # zero high half dropped
        ("1" + "0" * 16, "0000000000000001" + "0" * 16),  # 17 chars pad to 32
        (TRACE, TRACE),
    ],
)
def test_trace_ids_are_padded_like_zipkin(raw: str, expected: str) -> None:
    assert normalise({"traceId": raw, "id": "1"})["traceId"] == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"traceId": "ABC", "id": "1"}, "lower-hex"),
        ({"traceId": "0x1", "id": "1"}, "lower-hex"),
        ({"traceId": "1" * 33, "id": "1"}, "traceId.length > 32"),
        ({"traceId": "0" * 16, "id": "1"}, "all zeros"),
        ({"traceId": "1", "id": "1" * 17}, "id.length > 16"),
        ({"traceId": "1"}, "id is required"),
        ({"id": "1"}, "traceId is required"),
        ({"traceId": 1, "id": "1"}, "Expected a string"),
        ({"traceId": "1", "id": "1", "kind": "INTERNAL"}, "kind"),
        ({"traceId": "1", "id": "1", "timestamp": "5"}, "Expected a number"),
        ({"traceId": "1", "id": "1", "localEndpoint": {"port": 70000}}, "invalid port"),
        ({"traceId": "1", "id": "1", "annotations": [{"value": "x"}]}, "Incomplete annotation"),
        ({"traceId": "1", "id": "1", "annotations": [{"timestamp": 0, "value": "x"}]},
         "Incomplete annotation"),
        ({"traceId": "1", "id": "1", "annotations": [{"timestamp": -5, "value": "x"}]},
         "Incomplete annotation"),
        ({"traceId": "1", "id": "1", "tags": {"k": None}}, "No value at tags.k"),
        ({"traceId": "1", "id": "1", "debug": "yes"}, "boolean"),
    ],
)
def test_bad_spans_are_refused_with_a_reason(raw: dict, reason: str) -> None:
    with pytest.raises(SpanError, match=reason):
        normalise(raw)


def test_absent_values_are_dropped_not_refused() -> None:
    span = normalise(
        {
            "traceId": "1",
            "id": "2",
            "parentId": "2",  # == id: circular, removed
            "kind": None,  # what the OTel exporter sends for INTERNAL spans
            "name": "",
            "timestamp": 0,
            "duration": -5,
            "localEndpoint": {"serviceName": "", "ipv4": "not-an-ip", "port": 0},
            "remoteEndpoint": {},
            "annotations": [],
            "tags": {},
            "debug": False,
            "shared": None,
        }
    )
    assert span == {"traceId": "0000000000000001", "id": "0000000000000002"}


def test_shared_is_cleared_on_client_spans_and_debug_kept_when_true() -> None:
    client = normalise({"traceId": "1", "id": "2", "kind": "CLIENT", "shared": True, "debug": True})
    assert "shared" not in client
    assert client["debug"] is True


def test_ip_addresses_are_parsed_like_zipkin() -> None:
    span = normalise(
        {
            "traceId": "1",
            "id": "2",
            "localEndpoint": {"ipv6": "::ffff:10.0.0.1"},  # IPv4-mapped → ipv4
            "remoteEndpoint": {"ipv4": "2001:DB8:0:0:0:0:0:C001", "port": 80},  # v6 under ipv4
        }
    )
    assert span["localEndpoint"] == {"ipv4": "10.0.0.1"}
    assert span["remoteEndpoint"] == {"ipv6": "2001:db8::c001", "port": 80}
    kept = normalise({"traceId": "1", "id": "2", "localEndpoint": {"ipv4": "52.0.0.04"}})
    assert kept["localEndpoint"] == {"ipv4": "52.0.0.04"}  # as in real Zipkin data


def test_annotations_are_deduplicated_and_numeric_tags_become_text() -> None:
    span = normalise(
        {
            "traceId": "1",
            "id": "2",
            "annotations": [{"timestamp": 5, "value": "ws"}, {"timestamp": 5, "value": "ws"}],
            "tags": {"http.status_code": 200},
        }
    )
    assert span["annotations"] == [{"timestamp": 5, "value": "ws"}]
    assert span["tags"] == {"http.status_code": "200"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b" []", "Expected a JSON_V2 encoded list"),
        (b'{"traceId": "1"}', "Expected a JSON_V2 encoded list"),
        (b'[{"traceId": "1", "id": "2", "binaryAnnotations": []}]', "JSON_V1"),
        (b"[1]", "Expected a span object at $[0]"),
        (b'[{"traceId": "1", "id": "2"},', "Malformed"),
    ],
)
def test_bodies_that_are_not_a_v2_list_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(SpanError, match=reason.replace("$", r"\$").replace("[", r"\[")):
        decode_json(body)


def test_protobuf_and_json_decode_to_the_same_spans(zipkin_samples) -> None:
    for path in sorted(zipkin_samples.glob("*.json")):
        # 4 bytes cannot keep "52.0.0.04" as written: compare with leading zeros removed
        text = re.sub(r'(?<="ipv4": ")[0-9.]+', _unpadded, path.read_text())
        assert decode_proto(encode_proto(json.loads(text))) == decode_json(text.encode()), path


def _unpadded(match: re.Match) -> str:
    return ".".join(str(int(octet)) for octet in match.group().split("."))


def test_protobuf_body_must_start_like_a_list_of_spans() -> None:
    with pytest.raises(SpanError, match="PROTO3"):
        decode_proto(b"\x12\x00")
    with pytest.raises(SpanError, match="trace_id has 3 bytes"):
        decode_proto(b"\x0a\x05\x0a\x03abc")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
span_keys = st.sampled_from(
    ["traceId", "id", "parentId", "kind", "name", "timestamp", "duration", "localEndpoint",
     "remoteEndpoint", "annotations", "tags", "debug", "shared"]
)  # fmt: skip
spanlike = st.dictionaries(span_keys, json_values | st.sampled_from(["1", "a" * 16, "CLIENT"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(spanlike, max_size=4))
def test_fuzzed_span_lists_decode_or_fail_cleanly(raw: list) -> None:
    body = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS) if _jsonable(raw) else b"[x"
    try:
        spans = decode_json(body)
    except SpanError as exc:
        assert "\n" not in str(exc)
        return
    assert len(spans) == len(raw)
    for span in spans:  # whatever is accepted is canonical: normalising again changes nothing
        assert normalise(span) == span


def _jsonable(value) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True
