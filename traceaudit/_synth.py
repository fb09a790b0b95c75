"""Generated order traces in Zipkin v2 JSON, shaped like the shop's (for tests and the benchmark).

gateway SERVER → gateway CLIENT → order SERVER → order CLIENTs to customer, product, payment
(each answered by the callee's SERVER span with a database call), an order INSERT, a PRODUCER
publish, and a notification CONSUMER that may finish after the order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

ORDER_SPAN = "post /api/v1/orders"
CALLEES = {
    "customer": ("get", "get /api/v1/customers/{id}"),
    "product": ("post", "post /api/v1/products/purchase"),
    "payment": ("post", "post /api/v1/payments"),
}
# typical server-side work of each callee, µs (uniform range)
BASE_US = {"customer": (2_000, 6_000), "product": (3_000, 9_000), "payment": (8_000, 20_000)}


class _Ids:
    def __init__(self, rnd: random.Random, trace_bits: int) -> None:
        self.rnd, self.trace_bits = rnd, trace_bits

    def trace(self) -> str:
        return f"{self.rnd.getrandbits(self.trace_bits) | 1:0{self.trace_bits // 4}x}"

    def span(self) -> str:
        return f"{self.rnd.getrandbits(64) | 1:016x}"


def _span(trace_id, span_id, parent_id, service, name, kind, start, duration, **extra):
    span = {"traceId": trace_id, "id": span_id, "name": name, "timestamp": start,
            "duration": max(1, int(duration)), "localEndpoint": {"serviceName": service}}
    if parent_id:
        span["parentId"] = parent_id
    if kind:
        span["kind"] = kind
    span.update(extra)
    return span


def order_trace(
    rnd: random.Random,
    start_us: int,
    *,
    slow: dict[str, int] | None = None,
    parallel_checks: bool = False,
    trace_bits: int = 128,
    error_hop: str | None = None,
    late_consumer_us: int = 50_000,
) -> list[dict]:
    """One order trace; `slow` adds µs to the server-side work of the named hops."""
    slow = slow or {}
    ids = _Ids(rnd, trace_bits)
    tid = ids.trace()
    spans: list[dict] = []
    gw_id, gwc_id, order_id = ids.span(), ids.span(), ids.span()
    t = start_us + 300  # gateway routing before it calls order
    order_start = t + 150  # network gateway → order
    cursor = order_start + rnd.randint(200, 600)  # order validates the request

    def call(callee: str, at: int) -> int:
        """Client span at `at` plus the callee's server span and its DB call; returns the end."""
        method, server_name = CALLEES[callee]
        lo, hi = BASE_US[callee]
        work = rnd.randint(lo, hi) + slow.get(callee, 0)
        net_out, net_back = rnd.randint(100, 400), rnd.randint(100, 400)
        cid, sid = ids.span(), ids.span()
        db_start = at + net_out + rnd.randint(100, 300)
        db_dur = rnd.randint(300, max(301, work // 3))
        status = "500" if callee == error_hop else "200"
        server_tags = {"http.method": method.upper(), "http.route": server_name.split(" ", 1)[1],
                       "http.status_code": status}
        client_tags = {"http.method": method.upper(), "peer.service": callee,
                       "http.status_code": status}
        if callee == error_hop:
            server_tags["error"] = "Internal Server Error"
            client_tags["error"] = ""
        spans.append(_span(tid, sid, cid, callee, server_name, "SERVER", at + net_out, work,
                           tags=server_tags))
        spans.append(_span(tid, ids.span(), sid, callee, "select", "CLIENT", db_start, db_dur,
                           tags={"db.system": "postgresql", "db.name": f"shop_{callee}"}))
        end = at + net_out + work + net_back
        spans.append(_span(tid, cid, order_id, "order", method, "CLIENT", at, end - at,
                           tags=client_tags))
        return end

    if parallel_checks:
        cursor = max(call("customer", cursor), call("product", cursor + rnd.randint(20, 80)))
    else:
        cursor = call("customer", cursor)
        cursor = call("product", cursor + rnd.randint(50, 150))
    save = rnd.randint(800, 2_500)
    spans.append(_span(tid, ids.span(), order_id, "order", "insert", "CLIENT", cursor + 50, save,
                       tags={"db.system": "postgresql", "db.name": "shop_order"}))
    cursor = call("payment", cursor + 50 + save + rnd.randint(50, 150))
    pub_id = ids.span()
    pub_start = cursor + rnd.randint(50, 150)
    pub_dur = rnd.randint(300, 900)
    spans.append(_span(tid, pub_id, order_id, "order", "ecommerce send", "PRODUCER", pub_start,
                       pub_dur, remoteEndpoint={"serviceName": "rabbitmq"},
                       tags={"messaging.system": "rabbitmq",
                             "messaging.destination": "order.confirmed"}))
    order_end = pub_start + pub_dur + rnd.randint(100, 400)
    spans.append(_span(tid, order_id, gwc_id, "order", ORDER_SPAN, "SERVER", order_start,
                       order_end - order_start,
                       tags={"http.method": "POST", "http.route": "/api/v1/orders",
                             "http.status_code": "500" if error_hop else "201"}))
    gw_end = order_end + rnd.randint(100, 300)
    spans.append(_span(tid, gwc_id, gw_id, "gateway", "post", "CLIENT", t, gw_end - t,
                       tags={"peer.service": "order", "http.method": "POST"}))
    root_end = gw_end + rnd.randint(100, 300)
    spans.append(_span(tid, gw_id, None, "gateway", ORDER_SPAN, "SERVER", start_us,
                       root_end - start_us,
                       tags={"http.method": "POST", "http.route": "/api/v1/orders",
                             "http.status_code": "500" if error_hop else "201"}))
    # the consumer may start before the order returns and often outlives it
    cons_id = ids.span()
    cons_start = pub_start + rnd.randint(200, 2_000)
    cons_dur = rnd.randint(late_consumer_us // 2, late_consumer_us)
    spans.append(_span(tid, cons_id, pub_id, "notification", "order.confirmed receive",
                       "CONSUMER", cons_start, cons_dur,
                       remoteEndpoint={"serviceName": "rabbitmq"},
                       tags={"messaging.system": "rabbitmq"}))
    spans.append(_span(tid, ids.span(), cons_id, "notification", "insert", "CLIENT",
                       cons_start + 300, cons_dur // 4,
                       tags={"db.system": "postgresql", "db.name": "shop_notification"}))
    rnd.shuffle(spans)
    return spans


def order_traces(
    n: int,
    *,
    seed: int = 1,
    start_us: int = 1_767_000_000_000_000,
    every_us: int = 50_000,
    slow: dict[str, int] | None = None,
    **kwargs,
) -> Iterator[list[dict]]:
    """`n` order traces, one every `every_us` µs from `start_us` (newest last)."""
    rnd = random.Random(seed)
    for i in range(n):
        yield order_trace(rnd, start_us + i * every_us, slow=slow, **kwargs)
