"""Which upstream service answers which `/api/v1` prefix (the Spring gateway's route table), and
the exact routes of the contract the gateway forwards (anything else never reaches a service)."""

from __future__ import annotations

ROUTES: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "orders": "order",
    "order-lines": "order",
    "payments": "payment",
    "notifications": "notification",
}
API_PREFIX = "/api/v1/"

#: (method, path) of every `/api/v1` operation of the upstreams; `{}` is one path segment
CONTRACT: tuple[tuple[str, str], ...] = (
    ("POST", "/api/v1/customers"),
    ("PUT", "/api/v1/customers"),
    ("GET", "/api/v1/customers"),
    ("GET", "/api/v1/customers/exists/{}"),
    ("GET", "/api/v1/customers/{}"),
    ("DELETE", "/api/v1/customers/{}"),
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{}"),
    ("POST", "/api/v1/products/purchase"),
    ("POST", "/api/v1/products/purchase/{}/cancel"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/orders/{}"),
    ("GET", "/api/v1/order-lines/order/{}"),
    ("POST", "/api/v1/payments"),
    ("GET", "/api/v1/payments"),
    ("GET", "/api/v1/payments/{}"),
    ("GET", "/api/v1/notifications"),
)
_TEMPLATES = [(method, path.split("/")) for method, path in CONTRACT]


def upstream_for(path: str) -> str | None:
    """The service behind `path` (`/api/v1/orders/7` → `order`), or None when none is routed."""
    if not path.startswith(API_PREFIX):
        return None
    first = path[len(API_PREFIX) :].split("/", 1)[0]
    return ROUTES.get(first)


def allowed_methods(path: str) -> list[str]:
    """The methods the contract has for `path` (empty: no such route)."""
    segments = path.split("/")
    return sorted({
        method for method, template in _TEMPLATES
        if len(template) == len(segments)
        and all(t == s or (t == "{}" and s) for t, s in zip(template, segments, strict=True))
    })  # fmt: skip


def upstream_names() -> list[str]:
    return sorted(set(ROUTES.values()))
