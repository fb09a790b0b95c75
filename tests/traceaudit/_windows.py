"""Order traces with exact, hand-checkable timings (Zipkin v2 dicts) for the diff tests.

Each order is strictly sequential, every gap 1 ms:

    gateway SERVER [0, T]  (its CLIENT to order spans exactly the order SERVER)
      order SERVER [1, T-1]
        customer call [2, 2+c]            CLIENT + customer SERVER on the same interval
        product call  [3+c, 3+c+p]
        payment call  [4+c+p, 4+c+p+y]    (absent when the breaker short-circuits)

so the critical path per order is: gateway (self) 2 ms, order (self) 4 ms (3 ms without a
payment call), customer c, product p, payment y, and T = 6 + c + p + y.
"""

from __future__ import annotations

import itertools

MS = 1000
T0 = 1_767_000_000_000_000
_ids = itertools.count(1)


def _id() -> str:
    return f"{next(_ids):016x}"


def _span(tid, sid, parent, service, name, kind, start, dur, tags):
    span = {"traceId": tid, "id": sid, "name": name, "kind": kind, "timestamp": start,
            "duration": dur, "localEndpoint": {"serviceName": service},
            "tags": {k: str(v) for k, v in tags.items()}}
    if parent:
        span["parentId"] = parent
    return span


def order(i: int, *, customer: float = 10, product: float = 20, payment: float | None = 30,
          payment_status: int | None = 200, product_status: int = 200, status: int = 200,
          events: dict[str, list[dict]] | None = None, start_us: int | None = None,
          timeout_hop: str | None = None, invalid: bool = False) -> list[dict]:
    """Order number `i` (its trace id is i + 1, in hex; times in ms).

    `payment=None`: no payment call at all; `payment_status=None`: the call failed before
    reaching payment (no server span); `timeout_hop`: that call gives up (no status, error
    "ReadTimeout") while its server span still answers 200; `invalid`: the order refuses the
    request itself (400, no calls)."""
    tid = f"{i + 1:032x}"
    start = T0 + i * 1_000_000 if start_us is None else start_us
    gw, gwc, osrv = _id(), _id(), _id()
    spans = []
    at = start + 2 * MS
    ends = []
    steps = [("customer", customer, 200, "get"), ("product", product, product_status, "post")]
    if payment is not None:
        steps.append(("payment", payment, payment_status, "post"))
    if invalid:  # no call at all: 400 unless another status is asked for (503: it broke)
        steps, status = [], 400 if status == 200 else status
    for callee, ms, code, method in steps:
        dur = int(round(ms * MS))
        cid = _id()
        tags: dict = {"peer.service": callee}
        if code is None:
            tags["error"] = "ConnectError: connection refused"
        else:
            tags["http.status_code"] = code
            if code >= 400:
                tags["error"] = ""
        if callee == timeout_hop:
            tags = {"peer.service": callee, "error": "ReadTimeout: "}
        spans.append(_span(tid, cid, osrv, "order", method, "CLIENT", at, dur, tags))
        if code is not None:
            srv_tags: dict = {"http.status_code": code}
            if code >= 500:
                srv_tags["error"] = "Internal Server Error"
            spans.append(_span(tid, _id(), cid, callee, f"{method} /api/v1/{callee}", "SERVER",
                               at, dur, srv_tags))
        at += dur + MS
        ends.append(at)
        if code is not None and code >= 400 and callee != "payment":
            break  # the order stops at a failed check
    order_end = at
    spans.append(_span(tid, osrv, gwc, "order", "post /api/v1/orders", "SERVER", start + MS,
                       order_end - (start + MS), {"http.status_code": status}))
    spans.append(_span(tid, gwc, gw, "gateway", "post", "CLIENT", start + MS,
                       order_end - (start + MS), {"peer.service": "order"}))
    spans.append(_span(tid, gw, None, "gateway", "post /api/v1/orders", "SERVER", start,
                       order_end + MS - start, {"http.status_code": status}))
    for span in spans:  # events of a service go on its SERVER span
        if span["kind"] != "SERVER":
            continue
        for event in (events or {}).get(span["localEndpoint"]["serviceName"], []):
            span.setdefault("annotations", []).append(
                {"timestamp": span["timestamp"], "value": _event(event)})
    return spans


def _event(event: dict) -> str:
    import json

    return json.dumps(event)


def cycle(values, n: int) -> list:
    """`n` values repeating `values` (so a window's mean is the mean of `values` when `n` is a
    multiple of its length)."""
    return [values[i % len(values)] for i in range(n)]
