"""The collector's HTTP API, end to end against the `collector` subprocess fixture."""

from __future__ import annotations

import gzip
import uuid

import httpx
import pytest

from services.collector._proto import encode_proto


def new_trace_id() -> str:
    return uuid.uuid4().hex


def span(trace_id: str, span_id: str, **fields) -> dict:
    base = {
        "traceId": trace_id,
        "id": span_id,
        "name": "get /api",
        "timestamp": 1_700_000_000_000_000,
        "duration": 1500,
        "localEndpoint": {"serviceName": "frontend"},
    }
    return {**base, **fields}


def post(url: str, spans, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/api/v2/spans", json=spans, **kwargs)


def test_posted_spans_come_back_by_trace_id(collector: str) -> None:
    trace_id = new_trace_id()
    spans = [
        span(trace_id, "000000000000000a"),
        span(trace_id, "000000000000000b", parentId="000000000000000a"),
    ]
    response = post(collector, spans)
    assert response.status_code == 202
    assert response.content == b""
    got = httpx.get(f"{collector}/api/v2/trace/{trace_id}").json()
    assert sorted(got, key=lambda s: s["id"]) == spans


def test_unknown_trace_is_404_text(collector: str) -> None:
    response = httpx.get(f"{collector}/api/v2/trace/{'ab' * 16}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == f"{'ab' * 16} not found"


def test_gzip_and_protobuf_bodies_are_accepted(collector: str) -> None:
    gz_trace, proto_trace = new_trace_id(), new_trace_id()
    gz_body = gzip.compress(httpx.Request("POST", "/", json=[span(gz_trace, "01" * 8)]).read())
    response = httpx.post(
        f"{collector}/api/v2/spans",
        content=gz_body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202
    proto_body = encode_proto([span(proto_trace, "02" * 8, kind="SERVER")])
    response = httpx.post(
        f"{collector}/api/v2/spans",
        content=proto_body,
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 202
    assert httpx.get(f"{collector}/api/v2/trace/{gz_trace}").json() == [span(gz_trace, "01" * 8)]
    assert httpx.get(f"{collector}/api/v2/trace/{proto_trace}").json() == [
        span(proto_trace, "02" * 8, kind="SERVER")
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"traceId": "a"}', "Expected a JSON_V2 encoded list"),
        (b"[{", "Malformed reading List<Span> from json"),
        (b'[{"traceId": "A000000000000001", "id": "0000000000000001"}]', "lower-hex"),
    ],
)
def test_malformed_body_is_400_with_one_line_reason(
    collector: str, body: bytes, reason: str
) -> None:
    response = httpx.post(
        f"{collector}/api/v2/spans", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert reason in response.text
    assert len(response.text.strip().splitlines()) == 1


def test_one_bad_span_rejects_the_whole_body(collector: str) -> None:
    trace_id = new_trace_id()
    good = span(trace_id, "0000000000000001")
    bad = span(trace_id, "0000000000000002", kind="INTERNAL")
    assert post(collector, [good, bad]).status_code == 400
    assert httpx.get(f"{collector}/api/v2/trace/{trace_id}").status_code == 404


def test_empty_list_and_empty_body_are_accepted(collector: str) -> None:
    assert post(collector, []).status_code == 202
    assert httpx.post(f"{collector}/api/v2/spans", content=b"").status_code == 202
