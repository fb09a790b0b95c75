"""Shapes of traces no one here wrote; every expected figure is worked out from the shape."""

from __future__ import annotations

import pytest

from tests.traceaudit import foreign_shapes as fs
from traceaudit import analyse, hop_table, read_spans, spans_frame
from traceaudit._synth import order_traces


def cp_ms(analysis) -> dict[str, float]:
    table = hop_table(analysis)
    return dict(zip(table["hop"], table["cp_mean_ms"].round(3), strict=True))


def test_one_downstream_call_is_a_hop_of_the_order_service():
    a = analyse(spans_frame([fs.one_downstream()]))
    # gateway forwards the same operation to order (a proxy); order calls payment
    assert a.caller == "order"
    # payment: its client span 300–700; order: 100–900 minus it; gateway: 0–1000 minus order
    assert cp_ms(a) == {"payment": 0.4, "order (self)": 0.4, "gateway (self)": 0.2}


def test_a_server_called_without_a_client_span():
    a = analyse(spans_frame([fs.no_client_span()]))
    assert a.caller == "order"
    # customer 200–450 and product 500–800 in sequence inside order 100–900, gateway 0–1000
    assert cp_ms(a) == {"customer": 0.25, "product": 0.3, "order (self)": 0.25,
                        "gateway (self)": 0.2}
    assert a.anomalies["server_without_client"]["count"] == 1


def test_an_endpoint_that_calls_nothing_shows_its_self_time():
    a = analyse(spans_frame([fs.alone()]))
    assert a.caller == "gateway"
    table = hop_table(a)
    assert list(table["hop"]) == ["gateway (self)"]
    assert table["cp_mean_ms"].iloc[0] == pytest.approx(0.7)
    assert table["cp_p50_ms"].iloc[0] == pytest.approx(0.7)


def test_64_and_128_bit_halves_are_one_trace():
    low, high = "4" * 16, "9" * 16
    a = analyse(spans_frame(fs.split_halves(low, high)))
    assert list(a.traces["trace_id"].astype(str)) == [high + low]
    assert cp_ms(a) == {"payment": 0.4, "order (self)": 0.4, "gateway (self)": 0.2}
    joined = a.anomalies["trace_id_halves_joined"]
    assert joined["count"] == 1 and joined["examples"] == [high + low]


def test_both_id_forms_inside_one_trace_are_counted():
    low, high = "4" * 16, "9" * 16
    first, rest = fs.split_halves(low, high)
    a = analyse(spans_frame([first + rest]))  # as a Zipkin with STRICT_TRACE_ID=false serves it
    assert list(a.traces["trace_id"].astype(str)) == [high + low]
    assert a.anomalies["trace_id_halves_joined"]["count"] == 1
    assert cp_ms(a) == {"payment": 0.4, "order (self)": 0.4, "gateway (self)": 0.2}


def test_b3_shared_span_skew_and_an_unanswered_client_are_counted():
    a = analyse(spans_frame(fs.b3_shared()), service="front")
    # order's clock is 50 ms behind: its spans move by +50 000 µs (latency (800-700)/2 = 50)
    assert a.caller == "order"
    assert cp_ms(a) == {"stock": 0.2, "order (self)": 0.5, "front (self)": 0.3}
    counts = {k: v["count"] for k, v in a.anomalies.items()}
    assert counts["trace_id_64bit"] == 2
    assert counts["shared_spans"] == 1
    assert counts["client_without_server"] == 1
    assert counts["server_before_client"] == 1 and counts["skew_corrected"] == 1
    assert counts["traces_without_root_span"] == 1
    assert a.anomalies["client_without_server"]["examples"] == ["5" * 16]
    assert all(v["meaning"] for v in a.anomalies.values())


def test_one_lost_server_span_in_400_costs_that_trace_only():
    intact = list(order_traces(400, slow={"payment": 20_000}, seed=3))
    broken = [list(t) for t in intact]
    victim = broken[17]
    lost = next(s for s in victim if s["localEndpoint"]["serviceName"] == "order"
                and s.get("kind") == "SERVER")
    victim.remove(lost)
    before, after = analyse(spans_frame(intact)), analyse(spans_frame(broken))
    assert before.caller == after.caller == "order"
    assert len(after.traces) == 399
    tid = victim[0]["traceId"]
    assert after.anomalies["caller_absent"]["examples"] == [tid]
    assert after.anomalies["caller_differs"]["count"] == 1
    hops_before = [h for h in hop_table(before)["hop"] if "(self)" not in h]
    hops_after = [h for h in hop_table(after)["hop"] if "(self)" not in h]
    assert hops_after == hops_before and hops_before[0] == "payment"
    assert dict(zip(after.trace_callers["trace_id"].astype(str), after.trace_callers["caller"],
                    strict=True))[tid] == "gateway"


# The Zipkin samples: answers worked out by reading the spans (comments show the arithmetic)

def test_yelp_shared_root_keeps_its_children(zipkin_samples):
    a = analyse(read_spans(zipkin_samples / "yelp.json"), service="routing",
                span="post /location/update/v4")
    # root 237354+131848; its children: client 668ed78 239000+125000 (answered by the shared
    # yelp_main/api_proxy server) and client f5f268 287000+56000, which ends first (off path)
    assert a.caller == "routing"
    assert cp_ms(a) == {"yelp_main/api_proxy": 125.0, "mobile_api": 0.0,
                        "routing (self)": 6.848}  # (239000-237354) + (369202-364000)


def test_skew_sample(zipkin_samples):
    a = analyse(read_spans(zipkin_samples / "skew.json"), service="servicea", span="get")
    # root 99411 µs; its one client (to serviceb) 94539, a different operation: no proxy
    assert a.caller == "servicea"
    assert cp_ms(a) == {"serviceb": 94.539, "servicea (self)": 4.872}
    assert a.anomalies["skew_corrected"]["count"] == 1


def test_messaging2_sample(zipkin_samples):
    a = analyse(read_spans(zipkin_samples / "messaging2.json"), service="mobile-gateway",
                span="post")
    # root 976024+29051; children: auth-service server 978000+4057 (no client span) and
    # client "post" 983049+21813 (no server, no remote); the transfer spans are headless
    assert cp_ms(a) == {"post": 21.813, "auth-service": 4.057,
                        "mobile-gateway (self)": 3.181}  # 29051-21813-4057
    counts = {k: v["count"] for k, v in a.anomalies.items()}
    assert counts["orphans"] == 6 and counts["server_without_client"] == 1


def test_smartthings_sample(zipkin_samples):
    a = analyse(read_spans(zipkin_samples / "smartthings-mobile-web-install.json"),
                service="coresrv", span="get /login/tokenauth")
    # root 565942+36713 (µs after ...524000000); two calls to auth: 566268+8164 and
    # 581578+20173, both on the path; "redirect" starts after the root ends
    assert a.caller == "coresrv"
    ms = cp_ms(a)
    assert ms["auth"] == 28.337  # 8164 + 20173
    assert ms["coresrv (self)"] == 8.376  # 326 + 7146 + 904
