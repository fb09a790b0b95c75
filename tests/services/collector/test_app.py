"""The collector's HTTP API, end to end against the `collector` subprocess fixture."""

from __future__ import annotations

import gzip
import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.collector._proto import encode_proto

http = httpx.Client(timeout=10)  # one keep-alive pool for the module


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    http.close()


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
    return http.post(f"{url}/api/v2/spans", json=spans, **kwargs)


def test_posted_spans_come_back_by_trace_id(collector: str) -> None:
    trace_id = new_trace_id()
    spans = [
        span(trace_id, "000000000000000a"),
        span(trace_id, "000000000000000b", parentId="000000000000000a"),
    ]
    response = post(collector, spans)
    assert response.status_code == 202
    assert response.content == b""
    got = http.get(f"{collector}/api/v2/trace/{trace_id}").json()
    assert sorted(got, key=lambda s: s["id"]) == spans


def test_unknown_trace_is_404_text(collector: str) -> None:
    response = http.get(f"{collector}/api/v2/trace/{'ab' * 16}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == f"{'ab' * 16} not found"


def test_gzip_and_protobuf_bodies_are_accepted(collector: str) -> None:
    gz_trace, proto_trace = new_trace_id(), new_trace_id()
    gz_body = gzip.compress(httpx.Request("POST", "/", json=[span(gz_trace, "01" * 8)]).read())
    response = http.post(
        f"{collector}/api/v2/spans",
        content=gz_body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202
    proto_body = encode_proto([span(proto_trace, "02" * 8, kind="SERVER")])
    response = http.post(
        f"{collector}/api/v2/spans",
        content=proto_body,
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 202
    assert http.get(f"{collector}/api/v2/trace/{gz_trace}").json() == [span(gz_trace, "01" * 8)]
    assert http.get(f"{collector}/api/v2/trace/{proto_trace}").json() == [
        span(proto_trace, "02" * 8, kind="SERVER")
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"traceId": "a"}', "Expected a JSON_V2 encoded list"),
        (b"[{", "Malformed reading List<Span> from json"),
        (b'[{"traceId": "A000000000000001", "id": "0000000000000001"}]', "lower-hex"),
        (b'[{"traceId": "a\\nb", "id": "0000000000000001"}]', "a\\nb should be lower-hex"),
    ],
)
def test_malformed_body_is_400_with_one_line_reason(
    collector: str, body: bytes, reason: str
) -> None:
    response = http.post(
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
    assert http.get(f"{collector}/api/v2/trace/{trace_id}").status_code == 404


def test_empty_list_and_empty_body_are_accepted(collector: str) -> None:
    assert post(collector, []).status_code == 202
    assert http.post(f"{collector}/api/v2/spans", content=b"").status_code == 202


# -- /api/v2/traces semantics ---------------------------------------------------------------
# A small world in September 2001 (no other test posts spans then). END is the query's endTs;
# expected answers follow the spec and zipkin's QueryRequest: the trace's time is its root's
# timestamp, each criterion is met by *some* span of `serviceName`, durations are µs, newest
# first.

END_MS = 1_000_000_000_000
END_US = END_MS * 1000


def _q(trace: int) -> str:
    return f"{0xABC0000 + trace:016x}"


def _qspan(trace: int, n: int, service: str, name: str, ts: int | None, **fields) -> dict:
    span = {"traceId": _q(trace), "id": f"{n:016x}", "name": name,
            "localEndpoint": {"serviceName": service}}  # fmt: skip
    if ts is not None:
        span["timestamp"] = ts
    return {**span, **fields}


QUERY_WORLD = [
    # t1: frontend root 1 s before END, calls backend "zip" (tagged, annotated)
    _qspan(
        1,
        1,
        "QFront",
        "GET /",
        END_US - 1_000_000,
        kind="SERVER",
        duration=200_000,
        tags={"env": "prod"},
    ),
    _qspan(
        1,
        2,
        "qfront",
        "call-backend",
        END_US - 995_000,
        kind="CLIENT",
        duration=150_000,
        parentId=f"{1:016x}",
        remoteEndpoint={"serviceName": "qback"},
    ),
    _qspan(
        1,
        3,
        "qback",
        "zip",
        END_US - 990_000,
        kind="SERVER",
        duration=100_000,
        parentId=f"{2:016x}",
        tags={"http.path": "/zip"},
        annotations=[{"timestamp": END_US - 980_000, "value": "retried"}],
    ),
    # t2: frontend root 2 s before END (30 ms), its backend child is slow (400 ms)
    _qspan(
        2,
        1,
        "qfront",
        "get /",
        END_US - 2_000_000,
        kind="SERVER",
        duration=30_000,
        tags={"env": "dev"},
    ),
    _qspan(2, 2, "qback", "unzip", END_US - 1_999_000, duration=400_000, parentId=f"{1:016x}"),
    # t3: a backend-only trace, 3 s before END
    _qspan(3, 1, "qback", "zip", END_US - 3_000_000, kind="SERVER", duration=10_000),
    # t4: an old frontend trace, 100 s before END
    _qspan(4, 1, "qfront", "get /old", END_US - 100_000_000, duration=1_000),
    # t5: no timestamp anywhere: never found by /traces
    _qspan(5, 1, "qfront", "get /", None),
    # t6: newest root (0.5 s before END); a child that starts after END does not matter
    _qspan(6, 1, "qfront", "get /", END_US - 500_000, kind="SERVER", duration=50_000),
    _qspan(6, 2, "qfront", "later", END_US + 5_000_000, duration=5, parentId=f"{1:016x}"),
]


@pytest.fixture(scope="module")
def query_world(collector: str) -> str:
    assert post(collector, QUERY_WORLD).status_code == 202
    return collector


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("serviceName=qfront", [6, 1, 2, 4]),
        ("serviceName=QFRONT", [6, 1, 2, 4]),  # names are lower-cased
        ("serviceName=qfront&lookback=10000", [6, 1, 2]),  # 10 s window on the root time
        ("serviceName=qfront&limit=2", [6, 1]),
        ("serviceName=qback&spanName=zip", [1, 3]),
        ("serviceName=qfront&spanName=zip", []),  # zip is a qback span: scoped by service
        ("spanName=zip", [1, 3]),
        ("spanName=all&serviceName=qback", [1, 2, 3]),  # "all" is the legacy "any"
        ("serviceName=qfront&minDuration=100000", [1]),  # some qfront span ≥ 100 ms
        ("minDuration=300000", [2]),  # any span: t2's slow child
        ("serviceName=qback&minDuration=100000&maxDuration=100000", [1]),  # inclusive bounds
        ("serviceName=qback&minDuration=100001&maxDuration=399999", []),
        ("annotationQuery=retried", [1]),  # bare key: an annotation value…
        ("annotationQuery=env", [1, 2]),  # …or a tag key
        ("annotationQuery=http.path%3D/zip", [1]),
        ("annotationQuery=http.path%3D/ZIP", []),  # values are case-sensitive
        ("annotationQuery=env%3Dprod%20and%20retried", [1]),  # terms met by different spans
        ("annotationQuery=env%3Ddev%20and%20retried", []),
        ("serviceName=qfront&annotationQuery=retried", []),  # the annotation is on qback
        ("serviceName=qfront&remoteServiceName=qback", [1]),
        ("serviceName=qback&remoteServiceName=qfront", []),
        ("serviceName=qfront&endTs=999999999000&lookback=1000", [1, 2]),  # [END-2s, END-1s]
        ("serviceName=qfront&endTs=999999999000&lookback=999", [1]),
        ("serviceName=nobody", []),
    ],
)
def test_trace_queries_return_what_zipkin_would(query_world: str, params: str, expected) -> None:
    end = "" if "endTs" in params else f"endTs={END_MS}&"
    response = http.get(f"{query_world}/api/v2/traces?{end}{params}")
    assert response.status_code == 200, response.text
    traces = response.json()
    assert [trace[0]["traceId"] for trace in traces] == [_q(t) for t in expected]
    for trace in traces:  # whole traces come back, all spans of the same trace
        assert {s["traceId"] for s in trace} == {trace[0]["traceId"]}
        assert len(trace) == sum(s["traceId"] == trace[0]["traceId"] for s in QUERY_WORLD)


def test_trace_without_timestamps_is_still_readable_by_id(query_world: str) -> None:
    assert http.get(f"{query_world}/api/v2/trace/{_q(5)}").json() == [
        {**QUERY_WORLD[7], "localEndpoint": {"serviceName": "qfront"}, "name": "get /"}
    ]


@pytest.mark.parametrize(
    "params",
    ["lookback=0", "limit=0", "endTs=-1", "minDuration=abc", "maxDuration=5",
     "minDuration=10&maxDuration=5"],
)  # fmt: skip
def test_invalid_trace_queries_are_400(collector: str, params: str) -> None:
    response = http.get(f"{collector}/api/v2/traces?{params}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


def test_extreme_time_windows_are_not_errors(collector: str) -> None:
    huge = 2**63 - 1
    assert http.get(f"{collector}/api/v2/traces?endTs={huge}&lookback={huge}").status_code == 200
    deps = http.get(f"{collector}/api/v2/dependencies?endTs={huge}&lookback=1")
    assert (deps.status_code, deps.json()) == (200, [])


def test_name_lists(query_world: str) -> None:
    services = http.get(f"{query_world}/api/v2/services")
    assert {"qfront", "qback"} <= set(services.json())
    assert services.json() == sorted(services.json())
    assert http.get(f"{query_world}/api/v2/spans?serviceName=QFront").json() == [
        "call-backend", "get /", "get /old", "later"
    ]  # fmt: skip
    assert http.get(f"{query_world}/api/v2/remoteServices?serviceName=qfront").json() == ["qback"]
    assert http.get(f"{query_world}/api/v2/spans").status_code == 400
    assert http.get(f"{query_world}/api/v2/remoteServices").status_code == 400


def test_trace_many_returns_the_known_ones(query_world: str) -> None:
    missing = "f" * 32
    response = http.get(f"{query_world}/api/v2/traceMany?traceIds={_q(1)},{_q(3)},{missing}")
    assert response.status_code == 200
    assert sorted(t[0]["traceId"] for t in response.json()) == [_q(1), _q(3)]
    assert http.get(f"{query_world}/api/v2/traceMany?traceIds={_q(1)}").status_code == 400
    assert http.get(f"{query_world}/api/v2/traceMany?traceIds={_q(1)},{_q(1)}").status_code == 400
    assert http.get(f"{query_world}/api/v2/traceMany").status_code == 400


def test_trace_ids_are_normalised_on_read(query_world: str) -> None:
    short = _q(3).lstrip("0")  # Zipkin left-pads
    assert http.get(f"{query_world}/api/v2/trace/{short}").json()[0]["traceId"] == _q(3)
    assert http.get(f"{query_world}/zipkin/api/v2/trace/{_q(3)}").status_code == 200
    assert http.get(f"{query_world}/api/v2/trace/XYZ").status_code == 400


def test_128_bit_and_64_bit_ids_are_different_traces(collector: str) -> None:
    low = "48485a3953bb6124"
    high = "463ac35c9f6413ad" + low
    assert post(collector, [span(high, "0000000000000001")]).status_code == 202
    assert http.get(f"{collector}/api/v2/trace/{high}").status_code == 200
    assert http.get(f"{collector}/api/v2/trace/{low}").status_code == 404  # STRICT_TRACE_ID


# -- dependencies, health, metrics, CORS -----------------------------------------------------


def test_dependencies_of_the_messaging_sample(collector: str, zipkin_samples) -> None:
    body = (zipkin_samples / "messaging2.json").read_bytes()
    assert http.post(f"{collector}/api/v2/spans", content=body).status_code == 202
    end_ts = 1540799217000  # the sample's spans are at 1540799212976 … 1540799216477 ms
    links = http.get(f"{collector}/api/v2/dependencies?endTs={end_ts}&lookback=10000").json()
    assert sorted((link["parent"], link["child"], link["callCount"]) for link in links) == [
        ("mobile-gateway", "auth-service", 1),
        ("mobile-gateway", "transfer-service", 2),
        ("rabbitmq", "notification-service", 1),
        ("transfer-service", "rabbitmq", 1),
    ]
    assert all("errorCount" not in link for link in links)  # omitted when zero
    before = http.get(f"{collector}/api/v2/dependencies?endTs=1540799000000&lookback=1000")
    assert before.json() == []
    assert http.get(f"{collector}/api/v2/dependencies").status_code == 400


def test_health_and_metrics(collector: str) -> None:
    health = http.get(f"{collector}/health")
    assert health.status_code == 200
    assert health.json()["status"] == "UP"
    before = _metric(collector, 'collector_messages_rejected_total{transport="http"}')
    http.post(f"{collector}/api/v2/spans", content=b"[{]")
    assert _metric(collector, 'collector_messages_rejected_total{transport="http"}') == before + 1
    accepted = _metric(collector, 'collector_spans_accepted_total{transport="http"}')
    post(collector, [span(new_trace_id(), "0000000000000001")])
    assert _metric(collector, 'collector_spans_accepted_total{transport="http"}') == accepted + 1


def _metric(url: str, name: str) -> float:
    for line in http.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_cors_allows_the_shop_origins_only(collector: str) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}  # fmt: skip
    allowed = http.options(
        f"{collector}/api/v2/spans", headers={"Origin": "http://localhost:5173", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    foreign = http.options(
        f"{collector}/api/v2/spans", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in foreign.headers
    posted = post(collector, [], headers={"Origin": "http://127.0.0.1:8222"})
    assert posted.headers["access-control-allow-origin"] == "http://127.0.0.1:8222"
    posted = post(collector, [], headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in posted.headers


# -- the shared sample traces ----------------------------------------------------------------


def as_zipkin_stores_it(span: dict) -> dict:
    """The spec's ingest rules that touch the samples: names lower-cased, annotations sorted."""
    span = json.loads(json.dumps(span))
    if "name" in span:
        span["name"] = span["name"].lower()
    for field in ("localEndpoint", "remoteEndpoint"):
        if "serviceName" in span.get(field, {}):
            span[field]["serviceName"] = span[field]["serviceName"].lower()
    if "annotations" in span:
        span["annotations"].sort(key=lambda a: (a["timestamp"], a["value"]))
    return span


def canonical(spans: list[dict]) -> set[str]:
    return {json.dumps(span, sort_keys=True) for span in spans}


def test_every_sample_round_trips_as_a_set(collector: str, zipkin_samples) -> None:
    paths = sorted(zipkin_samples.glob("*.json"))
    assert len(paths) == 5
    for path in paths:
        raw = json.loads(path.read_text())
        response = http.post(
            f"{collector}/api/v2/spans",
            content=gzip.compress(path.read_bytes()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 202, (path.name, response.text)
        got = http.get(f"{collector}/api/v2/trace/{raw[0]['traceId']}").json()
        assert canonical(got) == canonical([as_zipkin_stores_it(s) for s in raw]), path.name


def test_samples_are_found_by_service_and_span_name(collector: str, zipkin_samples) -> None:
    body = (zipkin_samples / "yelp.json").read_bytes()
    raw = json.loads(body)
    http.post(f"{collector}/api/v2/spans", content=body)
    trace_id = raw[0]["traceId"]
    root = next(s for s in raw if "parentId" not in s)
    end_ms = root["timestamp"] // 1000 + 1
    found = http.get(
        f"{collector}/api/v2/traces",
        params={"serviceName": "routing", "spanName": "POST /location/update/v4",
                "endTs": end_ms, "lookback": 60_000},
    ).json()  # fmt: skip
    assert [t[0]["traceId"] for t in found] == [trace_id]


# -- fuzzed bodies over HTTP ------------------------------------------------------------------

_fuzz_traces = iter(range(1, 10**9))


@st.composite
def mixed_batches(draw) -> list[dict]:
    """A list of valid spans (fresh trace ids) with maybe some damaged ones among them."""
    size = draw(st.integers(1, 4))
    batch = []
    for _ in range(size):
        valid = span(f"{0xF022000000 + next(_fuzz_traces):032x}", "0000000000000001")
        damage = draw(
            st.one_of(
                st.just({}),
                st.dictionaries(
                    st.sampled_from(["id", "kind", "timestamp", "tags", "localEndpoint"]),
                    st.none() | st.integers() | st.text(max_size=5) | st.booleans()
                    | st.lists(st.integers(), max_size=2),
                    max_size=2,
                ),
            )
        )  # fmt: skip
        batch.append({**valid, **damage})
    return batch


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=mixed_batches())
def test_fuzzed_bodies_are_all_or_nothing(collector: str, batch: list[dict]) -> None:
    response = post(collector, batch)
    assert response.status_code in (202, 400), response.text
    found = [http.get(f"{collector}/api/v2/trace/{s['traceId']}").status_code for s in batch]
    assert found == [200 if response.status_code == 202 else 404] * len(batch)
