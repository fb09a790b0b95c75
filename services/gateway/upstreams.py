"""Which upstream service answers which `/api/v1` prefix (the Spring gateway's route table)."""

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


def upstream_for(path: str) -> str | None:
    """The service behind `path` (`/api/v1/orders/7` → `order`), or None when none is routed."""
    if not path.startswith(API_PREFIX):
        return None
    first = path[len(API_PREFIX) :].split("/", 1)[0]
    return ROUTES.get(first)


def upstream_names() -> list[str]:
    return sorted(set(ROUTES.values()))
