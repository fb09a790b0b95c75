"""Builders of trace shapes other systems send (not this shop's): Zipkin v2 span dicts.

Times are µs from an arbitrary epoch, chosen so every expected figure can be worked out by hand.
"""

from __future__ import annotations

T0 = 1_767_000_000_000_000
OP = "post /api/v1/orders"


def span(tid: str, sid: str, parent: str | None, service: str, name: str, kind: str | None,
         start: int, duration: int, **extra) -> dict:
    """One span; `start` is µs after T0."""
    out = {"traceId": tid, "id": sid, "name": name, "timestamp": T0 + start,
           "duration": duration, "localEndpoint": {"serviceName": service}}
    if parent:
        out["parentId"] = parent
    if kind:
        out["kind"] = kind
    out.update(extra)
    return out


def one_downstream(tid: str = "1" * 32) -> list[dict]:
    """gateway → order → payment only: order makes one call, to another operation.

    gateway 0–1000, its client 50–950 → order 100–900, whose client 300–700 → payment 350–650.
    """
    return [span(tid, "a1", None, "gateway", OP, "SERVER", 0, 1000),
            span(tid, "a2", "a1", "gateway", "post", "CLIENT", 50, 900),
            span(tid, "a3", "a2", "order", OP, "SERVER", 100, 800),
            span(tid, "a4", "a3", "order", "post", "CLIENT", 300, 400,
                 tags={"peer.service": "payment"}),
            span(tid, "a5", "a4", "payment", "post /api/v1/payments", "SERVER", 350, 300)]


def no_client_span(tid: str = "2" * 32) -> list[dict]:
    """gateway → order with no client span (order's server hangs under gateway's server),
    order → customer 200–450 and → product 500–800 (both with client spans).

    gateway 0–1000, order 100–900.
    """
    return [span(tid, "b1", None, "gateway", OP, "SERVER", 0, 1000),
            span(tid, "b2", "b1", "order", OP, "SERVER", 100, 800),
            span(tid, "b3", "b2", "order", "get", "CLIENT", 200, 250),
            span(tid, "b4", "b3", "customer", "get /customers/{id}", "SERVER", 220, 210),
            span(tid, "b5", "b2", "order", "post", "CLIENT", 500, 300),
            span(tid, "b6", "b5", "product", "post /products/purchase", "SERVER", 520, 260)]


def alone(tid: str = "3" * 32) -> list[dict]:
    """An endpoint whose service calls nothing: one span, 0–700."""
    return [span(tid, "c1", None, "gateway", OP, "SERVER", 0, 700)]


def split_halves(low: str = "4" * 16, high: str = "9" * 16) -> list[list[dict]]:
    """One trace reported as two lists: the root under the 128-bit id, the rest under its low
    64 bits (an old B3 tracer downstream). Shape as `one_downstream`."""
    spans = one_downstream(high + low)
    first, rest = spans[:1], spans[1:]
    for s in rest:
        s["traceId"] = low
    return [first, rest]


def b3_shared(tid: str = "5" * 16) -> list[list[dict]]:
    """64-bit ids, a shared server (same id as its client), a client nobody answered, and a
    server whose clock runs 50 ms behind its client's (different hosts).

    front 0–1000 calls order (client 100–900, shared server at 150–850 on its own clock, i.e.
    reported at -49 850), order calls stock (client 200–400, no server span, stock is
    instrumented elsewhere in the window: a second trace) and does local work 500–700.
    """
    front = {"serviceName": "front", "ipv4": "10.0.0.1"}
    order = {"serviceName": "order", "ipv4": "10.0.0.2"}
    return [[
        {**span(tid, "d1", None, "front", OP, "SERVER", 0, 1000), "localEndpoint": front},
        {**span(tid, "d2", "d1", "front", "post", "CLIENT", 100, 800), "localEndpoint": front},
        {**span(tid, "d2", "d1", "order", OP, "SERVER", 150 - 50_000, 700, shared=True),
         "localEndpoint": order},
        {**span(tid, "d3", "d2", "order", "get", "CLIENT", 200 - 50_000, 200,
                remoteEndpoint={"serviceName": "stock"}), "localEndpoint": order},
        {**span(tid, "d4", "d2", "order", "reserve", None, 500 - 50_000, 200),
         "localEndpoint": order},
    ], [span("6" * 16, "e1", None, "stock", "get /stock", "SERVER", 0, 10)]]
