"""The gateway as an attacker sees it, on the test stack: dot segments, encoded separators and
NUL never reach an upstream; only the contract's `/api/v1` operations are forwarded."""

from __future__ import annotations

import http.client

import httpx
import pytest

pytestmark = pytest.mark.stack


def raw_get(base: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send `path` byte for byte (httpx and curl without --path-as-is normalise dot segments)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    "/api/v1/customers/../../../openapi.json",
    "/api/v1/customers/../../metrics",
    "/api/v1/orders/../../health/breakers",
    "/api/v1/customers/%2e%2e/%2e%2e/docs",
    "/api/v1/customers%2f..%2f..%2fopenapi.json",
    "/api/v1/orders/1%00",
    "/%00",
])  # fmt: skip
def test_paths_that_leave_the_api_are_400(stack, path: str) -> None:
    status, body = raw_get(stack.gateway_url, path)
    assert status == 400, (path, status, body[:200])
    assert b"openapi" not in body and b"# HELP" not in body


def test_only_contract_operations_are_forwarded(stack) -> None:
    gateway = stack.gateway_url
    assert httpx.get(f"{gateway}/api/v1/orders/1/anything").status_code == 404
    assert httpx.get(f"{gateway}/api/v1/notifications/docs").status_code == 404
    wrong = httpx.delete(f"{gateway}/api/v1/orders")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"
    assert httpx.patch(f"{gateway}/api/v1/products/1", json={}).status_code == 405
    assert httpx.get(f"{gateway}/api/v1/products?size=1").status_code == 200
