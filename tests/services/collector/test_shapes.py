"""The collector on the project's own traces (tests/fixtures/traces.py): dependency links,
fragment merging, the trace tree, both encodings and the HTTP round trip, with the answers
worked out by hand in the fixtures module; these run without ../shared."""

from __future__ import annotations

import gzip
import json
import re
from html import unescape

import httpx
import pytest

from services.collector._proto import decode_proto, encode_proto
from services.collector.dependencies import build_tree, link_dependencies, merge
from services.collector.spans import decode_json, normalise_all
from tests.fixtures import traces

SHAPES = sorted(traces.ALL)
http = httpx.Client(timeout=30)


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    http.close()


# by hand, from the fixtures' docstrings: (spans after Zipkin's merge, {(parent, child): calls})
EXPECTED = {
    "skew": (4, {("frontend", "backend"): 1}),
    "fragments": (6, {("checkout", "billing"): 2}),
    "messaging": (10, traces.MESSAGING_LINKS),
    "ids64": (3, {}),  # one service, no remote endpoint: no link
    # 333 calls to backend-(i % 5): 333 = 5 × 66 + 3, so backends 0-2 get 67 and 3-4 get 66
    "large": (1000, {("frontend", f"backend-{n}"): 67 if n < 3 else 66 for n in range(5)}),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_merge_and_links(shape: str) -> None:
    spans = normalise_all(traces.ALL[shape]())
    merged, links = EXPECTED[shape]
    assert len(merge(spans)) == merged
    found = link_dependencies([spans])
    assert {(link["parent"], link["child"]): link["callCount"] for link in found} == links
    assert not any("errorCount" in link for link in found)


def test_headless_consumers_hang_under_the_root() -> None:
    root = build_tree(merge(normalise_all(traces.messaging())))
    assert root.span["localEndpoint"]["serviceName"] == "checkout"
    assert len(list(root.breadth_first())) == 10


@pytest.mark.parametrize("shape", SHAPES)
def test_protobuf_and_json_decode_to_the_same_spans(shape: str) -> None:
    spans = traces.ALL[shape]()
    assert decode_proto(encode_proto(spans)) == decode_json(json.dumps(spans).encode())


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_round_trips_over_http(collector: str, shape: str) -> None:
    spans = traces.ALL[shape]()
    response = http.post(f"{collector}/api/v2/spans", content=gzip.compress(
        json.dumps(spans).encode()), headers={"Content-Type": "application/json",
                                              "Content-Encoding": "gzip"})
    assert response.status_code == 202, response.text
    trace_id = spans[0]["traceId"]
    got = http.get(f"{collector}/api/v2/trace/{trace_id}").json()
    # stored as sent: names and services are lower case already; the one change is ids64's
    # 128-bit trace id with a zero upper half, which is the same 64-bit trace
    sent = [dict(s, traceId=trace_id) for s in spans]
    assert sorted(got, key=_key) == sorted(sent, key=_key)


def _key(span: dict) -> str:
    return json.dumps(span, sort_keys=True)


def test_the_large_trace_is_found_by_service_and_span_name(collector: str) -> None:
    spans = traces.large()
    assert http.post(f"{collector}/api/v2/spans", json=spans).status_code == 202
    found = http.get(f"{collector}/api/v2/traces", params={
        "serviceName": "frontend", "spanName": "get /catalog",
        "endTs": traces.T0 // 1000 + 1, "lookback": 60_000}).json()
    assert [t[0]["traceId"] for t in found] == [traces.LARGE_TRACE]
    assert len(found[0]) == 1000


def test_trace_page_shows_every_span_of_the_messaging_trace(collector: str) -> None:
    spans = traces.messaging()
    assert http.post(f"{collector}/api/v2/spans", json=spans).status_code == 202
    response = http.get(f"{collector}/zipkin/traces/{traces.MESSAGING_TRACE}")
    assert response.status_code == 200
    rows = re.split(r'(?=<tr class="span)', unescape(response.text))[1:]
    assert len(rows) == len(spans) == 10  # headless consumers too; client and server: 2 rows
    assert sum("receive receipts" in row for row in rows) == 3  # one of them traced, two headless
