"""The gateway's path guard and exact route table, as pure functions (no stack)."""

from __future__ import annotations

import importlib

import pytest

from services.gateway.guard import unsafe_path
from services.gateway.upstreams import CONTRACT, ROUTES, allowed_methods


@pytest.mark.parametrize("raw", [
    b"/api/v1/customers/../../../openapi.json",
    b"/api/v1/customers/%2e%2e/%2E%2E/metrics",
    b"/api/v1/orders/./1",
    b"/api/v1/customers%2f..%2fdocs",
    b"/api/v1/customers/%5c..%5chealth",
    b"/api/v1/customers/a\\b",
    b"/%00",
    b"/api/v1/orders/1%00",
])  # fmt: skip
def test_dot_segments_encoded_separators_and_nul_are_refused(raw: bytes) -> None:
    assert unsafe_path(raw) is not None


@pytest.mark.parametrize("raw", [b"/", b"/api/v1/orders/7", b"/assets/app-1.2.js",
                                 b"/api/v1/customers/a%20b", b"/api/v1/products/..x"])
def test_plain_paths_pass(raw: bytes) -> None:
    assert unsafe_path(raw) is None


def test_only_contract_routes_have_methods() -> None:
    assert allowed_methods("/api/v1/orders") == ["GET", "POST"]
    assert allowed_methods("/api/v1/orders/7") == ["GET"]
    assert allowed_methods("/api/v1/customers/7") == ["DELETE", "GET"]
    assert allowed_methods("/api/v1/products/purchase/ref-1/cancel") == ["POST"]
    for path in ("/api/v1/orders/7/x", "/api/v1/orders/", "/api/v1/customers/exists/",
                 "/api/v1/notifications/1", "/api/v1/carts"):
        assert allowed_methods(path) == [], path


def test_the_contract_is_the_upstreams_api() -> None:
    """Every `/api/v1` operation of the services, no more: the table cannot drift from them."""
    served = set()
    for service in sorted(set(ROUTES.values())):
        app = importlib.import_module(f"services.{service}.app").app
        for route in app.routes:
            path = getattr(route, "path", "")
            if path.startswith("/api/v1"):
                template = "/".join("{}" if s.startswith("{") else s for s in path.split("/"))
                served |= {(method, template) for method in route.methods}
    assert served == set(CONTRACT)
