"""Evidence from span events and tags, and the culprit's kind and sentence."""

from __future__ import annotations

import json

import pandas as pd

from tests.traceaudit._windows import order
from traceaudit.why import changed_evidence, evidence_items

FLAG = {"feature_flag.evaluation": {"feature_flag.key": "paymentUnreachable",
                                    "feature_flag.result.variant": "on"}}
OPEN = {"circuit_breaker.state_change": {
    "circuit_breaker.target": "payment", "circuit_breaker.from_state": "closed",
    "circuit_breaker.to_state": "open",
    "circuit_breaker.cause": "ConnectError: [Errno 111] Connection refused"}}


def test_events_and_tags_become_items():
    span = {"traceId": "00000000000000000000000000000abc", "id": "1", "name": "x",
            "localEndpoint": {"serviceName": "Order"},
            "annotations": [{"timestamp": 1, "value": json.dumps(FLAG)},
                            {"timestamp": 2, "value": json.dumps(OPEN)},
                            {"timestamp": 3, "value": "cs"},
                            {"timestamp": 4, "value": json.dumps(
                                {"exception": {"exception.type": "KeyError"}})}],
            "tags": {"http.status_code": "503", "error": "upstream 7f3a9c0b12 down"}}
    items = evidence_items([[span]])
    assert items["trace_id"].unique().tolist() == ["0000000000000abc"]  # Zipkin's id form
    assert items["span_id"].unique().tolist() == ["0000000000000001"]
    assert items["service"].unique().tolist() == ["order"]
    assert items["item"].tolist() == [
        "flag paymentUnreachable=on", "breaker payment closed→open (ConnectError)",
        "exception KeyError", "status 503", "error upstream … down"]


def test_flags_and_breakers_are_also_listed_under_the_hop_they_name():
    def frame(n_with: int, n: int) -> pd.DataFrame:
        rows = [(f"t{i}", "order (self)", item) for i in range(n_with)
                for item in ("flag paymentUnreachable=on",
                             "breaker payment closed→open (ConnectError)")]
        rows += [(f"t{i}", "product", "status 200") for i in range(n)]
        return pd.DataFrame(rows, columns=["trace_id", "bucket", "item"])

    out = changed_evidence(frame(0, 10), frame(4, 10), 10, 10, hops=["payment", "product"])
    got = {(r.bucket, r.item): (r.baseline_share, r.current_share) for r in out.itertuples()}
    assert got == {
        ("order (self)", "flag paymentUnreachable=on"): (0.0, 0.4),
        ("order (self)", "breaker payment closed→open (ConnectError)"): (0.0, 0.4),
        ("payment", "flag paymentUnreachable=on"): (0.0, 0.4),
        ("payment", "breaker payment closed→open (ConnectError)"): (0.0, 0.4),
    }  # product's status 200 did not change: not listed


def test_small_moves_are_not_evidence():
    base = pd.DataFrame([("t0", "payment", "status 500")], columns=["trace_id", "bucket", "item"])
    out = changed_evidence(base, base.iloc[:0], 25, 25)  # 1 of 25 = 4% → 0%
    assert out.empty


def test_explain_names_kind_from_the_traces():
    from traceaudit.diff import compare
    from traceaudit.hops import analyse
    from traceaudit.spans import spans_frame

    def run(base, cur):
        return compare(analyse(spans_frame(base)), analyse(spans_frame(cur)),
                       baseline_traces=base, current_traces=cur).verdict

    base = [order(i, customer=(8, 10, 12)[i % 3]) for i in range(60)]
    refused = [order(100 + i, payment=1, payment_status=None, status=202,
                     events={"order": [FLAG, OPEN]} if i == 0 else {"order": [FLAG]})
               if i % 10 == 0 else order(100 + i, payment=None, status=202, events={
                   "order": [FLAG]}) for i in range(60)]
    v = run(base, refused)
    assert (v.hop, v.kind) == ("payment", "unreachable")
    # 6 of 60 orders still call payment (refused): calls 1 → 0.1 per order, all failing
    assert v.summary.startswith("payment: calls -90%, errors 0% → 100% (not reached)")
    assert "100% of orders answered 202 (was 0%)" in v.summary
    # the breaker opened in one trace of 60: rare by nature, still evidence
    assert "(not reached); breaker opened;" in v.summary
    assert "breaker payment closed→open (ConnectError): 0% → 2% of traces" in v.evidence
    assert "flag paymentUnreachable=on: 0% → 100% of traces" in v.evidence

    failing = [order(200 + i, payment_status=500 if i % 4 == 0 else 200,
                     status=202 if i % 4 == 0 else 200) for i in range(60)]
    v = run(base, failing)
    assert (v.hop, v.kind) == ("payment", "errors")
    assert v.summary.startswith("payment: errors 0% → 25%")
    assert "status 500: 0% → 25% of traces" in v.evidence
    assert len(v.examples["current"]) == 3
    assert all(int(t, 16) - 1 in range(200, 260, 4) for t in v.examples["current"])


def test_calls_that_time_out_are_a_slowdown():
    from traceaudit.diff import compare
    from traceaudit.hops import analyse
    from traceaudit.spans import spans_frame

    base = [order(i) for i in range(40)]
    cur = [order(100 + i, product=3000, timeout_hop="product", payment=None, status=503)
           if i % 2 else order(100 + i) for i in range(40)]
    d = compare(analyse(spans_frame(base)), analyse(spans_frame(cur)))
    assert (d.verdict.hop, d.verdict.kind) == ("product", "latency")
