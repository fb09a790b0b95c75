"""Per-trace callers: proxies are followed, and lost spans cost only their own trace."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from traceaudit import analyse, spans_frame
from traceaudit.callers import same_operation

OP = "post /api/v1/orders"


def _trace(rnd: random.Random, tid: str, depth_of_proxies: int) -> list[dict]:
    """A root, `depth_of_proxies` services forwarding the same operation (maybe through a local
    span), then a caller that makes 1–4 calls to other operations (maybe from a local span),
    each answered by a server with maybe a database call."""
    spans, t = [], 1_000_000
    parent, width = None, 100_000
    services = [f"p{i}" for i in range(depth_of_proxies)] + ["caller"]
    for i, svc in enumerate(services):
        sid = f"{i + 1:x}0"
        spans.append({"traceId": tid, "id": sid, "parentId": parent, "name": OP,
                      "kind": "SERVER", "timestamp": t, "duration": width,
                      "localEndpoint": {"serviceName": svc}})
        if rnd.random() < 0.5:  # the service's own work wraps what follows
            spans.append({"traceId": tid, "id": f"{i + 1:x}2", "parentId": sid,
                          "name": "handle", "timestamp": t + 5, "duration": width - 10,
                          "localEndpoint": {"serviceName": svc}})
            sid = f"{i + 1:x}2"
        if i < len(services) - 1:
            cid = f"{i + 1:x}1"
            spans.append({"traceId": tid, "id": cid, "parentId": sid, "name": "post",
                          "kind": "CLIENT", "timestamp": t + 10, "duration": width - 20,
                          "localEndpoint": {"serviceName": svc}})
            parent, t, width = cid, t + 20, width - 40
    caller_span = sid
    for j in range(rnd.randint(1, 4)):
        cid, srv = f"c{j}", f"s{j}"
        start = t + 100 + j * 1000
        spans.append({"traceId": tid, "id": cid, "parentId": caller_span,
                      "name": "get", "kind": "CLIENT", "timestamp": start, "duration": 800,
                      "localEndpoint": {"serviceName": "caller"}})
        spans.append({"traceId": tid, "id": srv, "parentId": cid, "name": f"get /x{j}",
                      "kind": "SERVER", "timestamp": start + 50, "duration": 700,
                      "localEndpoint": {"serviceName": f"callee{j}"}})
        if rnd.random() < 0.5:
            spans.append({"traceId": tid, "id": f"d{j}", "parentId": srv, "name": "select",
                          "kind": "CLIENT", "timestamp": start + 100, "duration": 300,
                          "localEndpoint": {"serviceName": f"callee{j}"},
                          "remoteEndpoint": {"serviceName": "postgresql"}})
    return [{k: v for k, v in s.items() if v is not None} for s in spans]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), proxies=st.integers(0, 3),
       n_traces=st.integers(2, 12), data=st.data())
def test_lost_spans_never_change_the_caller_of_intact_traces(seed, proxies, n_traces, data):
    rnd = random.Random(seed)
    traces = [_trace(rnd, f"{i + 1:016x}" * 2, proxies) for i in range(n_traces)]
    damaged = data.draw(st.sets(st.integers(0, n_traces - 1), max_size=n_traces - 1))
    broken = []
    for i, trace in enumerate(traces):
        if i in damaged:
            keep = [s for s in trace if "parentId" not in s or rnd.random() < 0.5]
            trace = keep if len(keep) < len(trace) else keep[:-1]
        broken.append(trace)
    intact = analyse(spans_frame(traces), service="p0" if proxies else "caller", span=OP)
    after = analyse(spans_frame(broken), service="p0" if proxies else "caller", span=OP)
    assert set(intact.trace_callers["caller"]) == {"caller"}
    own = dict(zip(after.trace_callers["trace_id"].astype(str), after.trace_callers["caller"],
                   strict=True))
    for i in set(range(n_traces)) - damaged:
        assert own[f"{i + 1:016x}" * 2] == "caller"
    if len(damaged) * 2 < n_traces:
        assert after.caller == "caller"


def test_same_operation():
    assert same_operation(OP, OP)
    assert same_operation("post /api/v1/orders", "post /orders")
    assert not same_operation("post /api/v1/orders", "get /api/v1/orders")
    assert not same_operation("post /api/v1/orders", "post /api/v1/payments")
    assert not same_operation("post", "get")
