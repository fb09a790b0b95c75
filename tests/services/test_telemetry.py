"""Telemetry of the whole shop: one order → one trace, correlated logs, metrics, dead collector."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.collector import wait_for_trace

SERVICES = ("gateway", "order", "customer", "product", "payment", "notification")
HTTP_SERVICES = ("gateway", "order", "customer", "product", "payment")
TRACE_TIMEOUT_S = 20.0


def order_body(http: httpx.Client) -> dict:
    """Body of an order through the gateway `http`: a new customer, a product with ample stock."""
    customer = http.post("/api/v1/customers", json={
        "firstname": "Tess", "lastname": "Telemetry", "email": "tess@example.com",
        "address": {"street": "Main", "houseNumber": "1", "zipCode": "12345"}})
    assert customer.status_code in (200, 201), customer.text
    category = http.get("/api/v1/products").json()[0]["categoryId"]
    product = http.post("/api/v1/products", json={
        "name": "Telemetry Widget", "description": "bought by the telemetry tests",
        "availableQuantity": 1_000_000, "price": "1.00", "categoryId": category})
    assert product.status_code in (200, 201), product.text
    return {"customerId": customer.json(), "paymentMethod": "PAYPAL",
            "products": [{"productId": product.json(), "quantity": 1}]}


class Shop:
    """Places orders through the gateway of a running stack."""

    def __init__(self, stack):
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=15)
        self.body = order_body(self.http)

    def order(self) -> httpx.Response:
        response = self.http.post("/api/v1/orders", json=self.body)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(scope="module")
def shop(stack):
    """This module's own `Shop` (one ready order body), not the service tests' shared one."""
    shop = Shop(stack)
    yield shop
    shop.http.close()


def _service(span: dict) -> str:
    return span["localEndpoint"]["serviceName"]


def _by(spans: list[dict], service: str, kind: str, name: str | None = None,
        **tags: str) -> list[dict]:
    return [s for s in spans if _service(s) == service and s.get("kind") == kind
            and (name is None or s["name"] == name.lower())  # Zipkin lowercases span names
            and all(s.get("tags", {}).get(k) == v for k, v in tags.items())]


def _one(spans: list[dict], service: str, kind: str, name: str | None = None,
         **tags: str) -> dict:
    found = _by(spans, service, kind, name, **tags)
    assert len(found) == 1, f"expected one {service} {kind} {name or ''} {tags}: {found}"
    return found[0]


def _ancestors(span: dict, index: dict[str, dict]) -> list[dict]:
    chain = []
    while span.get("parentId"):
        span = index[span["parentId"]]
        chain.append(span)
    return chain


def _complete(spans: list[dict]) -> bool:
    """Every service's spans, both notification consumers and every span's parent arrived
    (each service exports its batches on its own schedule)."""
    ids = {s["id"] for s in spans}
    consumers = [s for s in spans if _service(s) == "notification" and s.get("kind") == "CONSUMER"]
    return (len(consumers) >= 2 and {_service(s) for s in spans} >= set(SERVICES)
            and all(s.get("parentId") in ids for s in spans if "parentId" in s))


def test_one_order_is_one_trace_with_logs_and_metrics(stack, shop):
    response = shop.order()
    trace_id = response.headers["x-trace-id"]
    spans = wait_for_trace(stack.collector_url, trace_id, _complete, TRACE_TIMEOUT_S)
    index = {s["id"]: s for s in spans}
    assert all(s["traceId"] == trace_id for s in spans)
    assert {_service(s) for s in spans} == set(SERVICES)

    gateway = _one(spans, "gateway", "SERVER", "POST /api/v1/orders")
    assert "parentId" not in gateway and gateway["name"].startswith("post /api/v1/")
    to_order = _one(spans, "gateway", "CLIENT", **{"peer.service": "order"})
    assert to_order["parentId"] == gateway["id"]
    order = _one(spans, "order", "SERVER", "POST /api/v1/orders")
    assert order["parentId"] == to_order["id"]
    for peer in ("customer", "product", "payment"):
        client = _one(spans, "order", "CLIENT", **{"peer.service": peer})
        assert order in _ancestors(client, index), f"order→{peer} client span outside the order"
        server = [s for s in _by(spans, peer, "SERVER") if s["parentId"] == client["id"]]
        assert len(server) == 1, f"no {peer} server span under the order's client span"
    for service in ("order", "customer", "product", "payment"):
        server_ids = {s["id"] for s in _by(spans, service, "SERVER")}
        db = [s for s in _by(spans, service, "CLIENT") if "db.system" in s.get("tags", {})]
        assert db, f"no database spans from {service}"
        assert all(server_ids & {a["id"] for a in _ancestors(s, index)} for s in db)
    publish = [s for s in _by(spans, "order", "PRODUCER") if "order.confirmed" in s["name"]]
    assert len(publish) == 1 and order in _ancestors(publish[0], index)
    consumers = _by(spans, "notification", "CONSUMER")
    assert any(c["parentId"] == publish[0]["id"] for c in consumers)

    # logs: every service wrote lines with this trace id, each naming a span of the trace
    for service in SERVICES:
        lines = [json.loads(line) for line in stack.log_path(service).read_text().splitlines()]
        mine = [x for x in lines if x.get("trace_id") == trace_id]
        assert mine, f"{service}: no log line with trace {trace_id}"
        assert all(x["span_id"] in index for x in mine), f"{service}: unknown span ids"
        assert all(x["service"] == service for x in mine)
    for span in (gateway, order):
        lines = stack.log_path(_service(span)).read_text().splitlines()
        access = [json.loads(x) for x in lines if '"uvicorn.access"' in x and trace_id in x]
        assert [x["span_id"] for x in access] == [span["id"]]

    # metrics: each service's /metrics parses and counts the request it served
    expected = {"gateway": "POST", "order": "POST", "customer": "GET", "product": "POST",
                "payment": "POST"}
    for service in SERVICES:
        families = {f.name: f for f in text_string_to_metric_families(
            httpx.get(f"{stack.url(service)}/metrics").text)}
        assert "process_resident_memory_bytes" in families
        if service in expected:
            served = [s for s in families["http_server_requests_seconds"].samples
                      if s.name.endswith("_count") and s.labels["service"] == service
                      and s.labels["method"] == expected[service]
                      and s.labels["route"].startswith("/api/v1/") and s.value >= 1]
            assert served, f"{service}: request not in /metrics"
    order_metrics = {f.name: f for f in text_string_to_metric_families(
        httpx.get(f"{stack.url('order')}/metrics").text)}
    peers = {s.labels["peer"] for s in order_metrics["http_client_requests_seconds"].samples}
    assert peers >= {"customer", "product", "payment"}
    notification = {f.name: f for f in text_string_to_metric_families(
        httpx.get(f"{stack.url('notification')}/metrics").text)}
    assert any(s.labels.get("outcome") == "ok" and s.value >= 1
               for s in notification["messages_consumed"].samples)


def test_orders_succeed_with_the_collector_stopped(stack, shop):
    """No export error reaches a caller: with the collector stopped every order succeeds (their
    spans are dropped), and once it is back the next order's trace arrives whole. How fast the
    orders are meanwhile is measured by bench/bench_collector_down.py, not asserted here."""
    stack.stop("collector")
    try:
        responses = [shop.order() for _ in range(20)]  # `shop.order` asserts 200
        assert all(r.json() for r in responses)  # each answered with its order id
        for service in HTTP_SERVICES:
            assert httpx.get(f"{stack.url(service)}/health/live", timeout=5).status_code == 200
    finally:
        stack.start("collector")
    trace_id = shop.order().headers["x-trace-id"]
    wait_for_trace(stack.collector_url, trace_id, _complete, TRACE_TIMEOUT_S)
