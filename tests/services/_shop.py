"""Test helpers for driving the running shop (the `stack` fixture): data, orders, metrics, flags."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.common import faults


class Shop:
    """HTTP access to one running stack."""

    def __init__(self, stack: Any, timeout: float = 10.0):
        self.stack = stack
        self.http = httpx.Client(timeout=timeout)

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.url(service)}{path}"

    def get(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url(service, path), **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(self.url(service, path), **kwargs)

    def customer(self) -> str:
        tag = uuid.uuid4().hex[:8]
        response = self.post("customer", "/api/v1/customers", json={
            "firstname": "Test", "lastname": f"Buyer{tag}", "email": f"buyer{tag}@example.com",
            "address": {"street": "Main St", "houseNumber": "1", "zipCode": "12345"}})
        assert response.status_code == 200, response.text
        return response.json()

    def product(self, stock: float = 100_000, price: float = 9.99) -> int:
        categories = {p["categoryId"] for p in self.get("product", "/api/v1/products").json()}
        response = self.post("product", "/api/v1/products", json={
            "name": f"Test item {uuid.uuid4().hex[:6]}", "description": "for tests",
            "availableQuantity": stock, "price": price, "categoryId": min(categories)})
        assert response.status_code == 200, response.text
        return response.json()

    def stock(self, product_id: int) -> float:
        return self.get("product", f"/api/v1/products/{product_id}").json()["availableQuantity"]

    def order_body(self, customer_id: str, product_id: int, quantity: float = 1,
                   reference: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"paymentMethod": "VISA", "customerId": customer_id,
                "products": [{"productId": product_id, "quantity": quantity}], **extra}
        if reference:
            body["reference"] = reference
        return body

    def place(self, body: dict[str, Any], client: httpx.Client | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
        return (client or self.http).post(self.url("order", "/api/v1/orders"), json=body,
                                          headers=headers)

    def order(self, order_id: int) -> dict[str, Any]:
        response = self.get("order", f"/api/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def payments(self, reference: str) -> list[dict[str, Any]]:
        response = self.get("payment", "/api/v1/payments", params={"orderReference": reference})
        assert response.status_code == 200, response.text
        return response.json()

    def metric(self, of: str, name: str, **labels: str) -> float:
        """Sum of the samples `name` on /metrics of service `of` matching `labels` (0 if none)."""
        text = self.get(of, "/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    total += sample.value
        return total

    def log_events(self, service: str, event: str) -> list[dict[str, Any]]:
        path = Path(self.stack.log_path(service))
        out = []
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("event") == event:
                    out.append(record)
        return out

    @contextlib.contextmanager
    def flag(self, name: str, variant: str, only: tuple[str, str] | None = None
             ) -> Iterator[None]:
        """Switch flag `name` in the stack's flag file; the file as before afterwards."""
        path = Path(self.stack.env["SHOP_FLAGS_FILE"])
        before = path.read_text()
        faults.set_variant(path, name, variant, only)
        time.sleep(faults.CHECK_SECONDS + 0.3)  # every service re-reads it within this
        try:
            yield
        finally:
            faults.write_atomically(path, before)
            time.sleep(faults.CHECK_SECONDS + 0.3)


def wait_until(check: Callable[[], Any], timeout: float, interval: float = 0.2,
               what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
