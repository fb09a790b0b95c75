"""Gateway: proxies the five prefixes unchanged, 502/504 naming the upstream, CORS, web app at /."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.collector import free_port
from tests.fixtures.paths import REPO

FOREIGN_ORIGIN = "http://evil.example"


class StalledUpstream:
    """A real TCP peer that accepts connections and never answers: a hung service."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _wait_live(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gateway exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"gateway not live within 20 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def lone_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway of its own: payment hangs, notification is down, a small web build at /."""
    tmp = tmp_path_factory.mktemp("gateway")
    dist = tmp / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>shop</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log('shop')")
    stalled = StalledUpstream()
    port = free_port()
    env = {
        **os.environ,
        "SHOP_VAR_DIR": str(tmp),
        "GATEWAY_PORT": str(port),
        "PAYMENT_URL": f"http://127.0.0.1:{stalled.port}",
        "NOTIFICATION_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "GATEWAY_TIMEOUT": "0.5",
        "GATEWAY_WEB_DIST": str(dist),
        "OTEL_TRACES_EXPORTER": "none",
    }
    log = tmp / "gateway.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_live(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        stalled.close()


def test_slow_upstream_is_504_naming_it(lone_gateway: str) -> None:
    start = time.monotonic()
    r = httpx.post(f"{lone_gateway}/api/v1/payments", json={"amount": 1}, timeout=10)
    elapsed = time.monotonic() - start
    assert r.status_code == 504
    body = r.json()
    assert body["upstream"] == "payment"
    assert body["status"] == 504 and body["error"] == "Gateway Timeout"
    assert "payment" in body["message"] and "0.5 s" in body["message"]
    assert r.headers["content-type"] == "application/json"
    assert elapsed < 3, f"the gateway waited {elapsed:.1f} s for a 0.5 s timeout"


def test_down_upstream_is_502_naming_it(lone_gateway: str) -> None:
    r = httpx.get(f"{lone_gateway}/api/v1/notifications", timeout=10)
    assert r.status_code == 502
    assert r.json()["upstream"] == "notification"
    assert "notification" in r.json()["message"]


def test_unrouted_api_path_is_a_json_404(lone_gateway: str) -> None:
    r = httpx.get(f"{lone_gateway}/api/v1/carts", timeout=5)
    assert r.status_code == 404
    assert "/api/v1/orders" in r.json()["message"]


def test_serves_the_web_app_with_spa_fallback(lone_gateway: str) -> None:
    index = httpx.get(f"{lone_gateway}/", timeout=5)
    assert index.status_code == 200 and "<title>shop</title>" in index.text
    assert index.headers["cache-control"] == "no-cache"
    client_route = httpx.get(f"{lone_gateway}/orders/history", timeout=5)
    assert client_route.status_code == 200 and client_route.text == index.text
    asset = httpx.get(f"{lone_gateway}/assets/app-1234.js", timeout=5)
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert httpx.get(f"{lone_gateway}/assets/gone.js", timeout=5).status_code == 404
    escape = httpx.get(f"{lone_gateway}/assets/..%2F..%2F..%2F..%2F..%2Fetc%2Fhostname", timeout=5)
    assert escape.text != Path("/etc/hostname").read_text()


# --- against the running stack ----------------------------------------------------------


def _same(a: httpx.Response, b: httpx.Response, header: str) -> None:
    assert a.headers.get(header) == b.headers.get(header), header


def test_proxies_status_headers_and_body_unchanged(stack) -> None:
    direct = httpx.get(f"{stack.url('product')}/api/v1/products?size=3&page=1", timeout=10)
    via = httpx.get(f"{stack.gateway_url}/api/v1/products?size=3&page=1", timeout=10)
    assert via.status_code == direct.status_code == 200
    assert via.content == direct.content
    for header in ("content-type", "content-length", "x-total-count"):
        _same(via, direct, header)
    assert len(via.headers.get_list("date")) == len(via.headers.get_list("server")) == 1
    assert len(via.json()) == 3

    missing = httpx.get(f"{stack.gateway_url}/api/v1/orders/999999", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["message"] == "No order found with the provided ID: 999999"
    # the upstream's error names the same trace as the gateway's header: one trace, two hops
    assert missing.json()["traceId"] == missing.headers["x-trace-id"]

    bad = {"firstname": "Ada", "lastname": "", "email": "not-an-email"}
    d = httpx.post(f"{stack.url('customer')}/api/v1/customers", json=bad, timeout=10)
    v = httpx.post(f"{stack.gateway_url}/api/v1/customers", json=bad, timeout=10)
    assert v.status_code == d.status_code == 400
    assert {k: x for k, x in v.json().items() if k != "traceId"} == {
        k: x for k, x in d.json().items() if k != "traceId"
    }

    created = httpx.post(
        f"{stack.gateway_url}/api/v1/customers",
        json={"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"},
        timeout=10,
    )
    assert created.status_code == 200
    customer_id = created.json()
    got = httpx.get(f"{stack.gateway_url}/api/v1/customers/{customer_id}", timeout=10)
    assert got.json()["email"] == "ada@example.com"
    deleted = httpx.delete(f"{stack.gateway_url}/api/v1/customers/{customer_id}", timeout=10)
    assert deleted.status_code == 202


def test_every_prefix_reaches_its_service(stack) -> None:
    for path in (
        "/api/v1/customers",
        "/api/v1/products",
        "/api/v1/orders",
        "/api/v1/order-lines/order/1",
        "/api/v1/payments",
        "/api/v1/notifications",
    ):
        r = httpx.get(f"{stack.gateway_url}{path}", timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        assert isinstance(r.json(), list), path
        assert len(r.headers["x-trace-id"]) == 32


def test_stopped_service_is_502_then_recovers(stack) -> None:
    stack.stop("notification")
    try:
        r = httpx.get(f"{stack.gateway_url}/api/v1/notifications", timeout=10)
        assert r.status_code == 502
        assert r.json()["upstream"] == "notification"
        assert r.json()["traceId"] == r.headers["x-trace-id"]
    finally:
        stack.start("notification")
    assert httpx.get(f"{stack.gateway_url}/api/v1/notifications", timeout=10).status_code == 200


def _dev_origin(stack) -> str:
    return f"http://localhost:{5173 + stack.settings.shop_port_offset}"


def test_cors_allows_the_dev_origin(stack) -> None:
    origin = _dev_origin(stack)
    pre = httpx.options(
        f"{stack.gateway_url}/api/v1/orders",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, traceparent, tracestate, b3",
        },
        timeout=10,
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == origin
    allowed = pre.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in ("traceparent", "tracestate", "b3", "content-type"))
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-max-age"] == "3600"

    r = httpx.get(f"{stack.gateway_url}/api/v1/products", headers={"Origin": origin}, timeout=10)
    assert r.headers["access-control-allow-origin"] == origin
    assert "x-trace-id" in r.headers["access-control-expose-headers"].lower()


def test_cors_refuses_a_foreign_origin(stack) -> None:
    pre = httpx.options(
        f"{stack.gateway_url}/api/v1/orders",
        headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code == 400
    r = httpx.get(
        f"{stack.gateway_url}/api/v1/products", headers={"Origin": FOREIGN_ORIGIN}, timeout=10
    )
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
