"""Smoke test of a running shop, through its gateway: every public endpoint, status codes and
bodies asserted, one PASS/FAIL line per check (`shop smoke [--url]`, `python -m services.smoke`).

Checks run in order and share what they created (customer, product, order); a check whose
prerequisite failed is reported as SKIP. The exit status is 1 when any check failed.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


class CheckFailed(AssertionError):
    """A check's expectation did not hold (the message says what was seen)."""


@dataclass
class Result:
    name: str
    status: str  # PASS | FAIL | SKIP
    detail: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        timing = f" ({self.seconds * 1000:.0f} ms)" if self.status != "SKIP" else ""
        return f"{self.status} {self.name}{timing}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Smoke:
    """The checks against one gateway; state the later checks need is kept on the instance."""

    client: httpx.Client
    notify_timeout: float = 20.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    customer_id: str = ""
    product: dict[str, Any] = field(default_factory=dict)
    order_id: int = 0
    reference: str = ""

    # -- helpers ---------------------------------------------------------------------------
    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise CheckFailed(
                f"{method} {path} answered {response.status_code}, expected {expect}: "
                f"{response.text[:200]}"
            )
        return response

    @staticmethod
    def expect(condition: bool, message: str) -> None:
        if not condition:
            raise CheckFailed(message)

    def expect_error_envelope(self, response: httpx.Response, status: int) -> dict[str, Any]:
        body = response.json()
        self.expect(body.get("status") == status, f"error body status is {body.get('status')}")
        self.expect(bool(body.get("message")), "error body has no message")
        self.expect(bool(TRACE_ID.match(str(body.get("traceId", "")))),
                    f"error body traceId is {body.get('traceId')!r}, not 32 hex")
        return body

    # -- checks, in order --------------------------------------------------------------------
    def gateway_ready(self) -> None:
        self.call("GET", "/health/ready", 200)

    def create_customer(self) -> None:
        body = {
            "firstname": "Smoke", "lastname": f"Test-{self.run_id}",
            "email": f"smoke-{self.run_id}@example.com",
            "address": {"street": "Main Street", "houseNumber": "1", "zipCode": "1000"},
        }
        customer_id = self.call("POST", "/api/v1/customers", 200, json=body).json()
        self.expect(isinstance(customer_id, str) and customer_id != "",
                    f"POST /api/v1/customers returned {customer_id!r}, not an id string")
        self.customer_id = customer_id

    def read_customer(self) -> None:
        got = self.call("GET", f"/api/v1/customers/{self.customer_id}", 200).json()
        self.expect(got.get("email") == f"smoke-{self.run_id}@example.com",
                    f"customer read back has email {got.get('email')!r}")
        exists = self.call("GET", f"/api/v1/customers/exists/{self.customer_id}", 200).json()
        self.expect(exists is True, f"exists says {exists!r}")

    def list_products(self) -> None:
        products = self.call("GET", "/api/v1/products", 200).json()
        self.expect(isinstance(products, list) and products != [], "the catalogue is empty")
        for key in ("id", "name", "price", "availableQuantity"):
            self.expect(key in products[0], f"product has no {key!r}: {products[0]}")
        in_stock = [p for p in products if p["availableQuantity"] >= 1]
        self.expect(bool(in_stock), "no product has stock left")
        self.product = in_stock[0]
        got = self.call("GET", f"/api/v1/products/{self.product['id']}", 200).json()
        self.expect(got["name"] == self.product["name"], f"product read back is {got}")

    def place_order(self) -> None:
        self.reference = f"smoke-{self.run_id}"
        body = {
            "reference": self.reference, "paymentMethod": "VISA", "customerId": self.customer_id,
            "products": [{"productId": self.product["id"], "quantity": 1}],
        }
        response = self.call("POST", "/api/v1/orders", 200, json=body)
        order_id = response.json()
        self.expect(isinstance(order_id, int), f"POST /api/v1/orders returned {order_id!r}")
        self.expect(bool(TRACE_ID.match(response.headers.get("x-trace-id", ""))),
                    "the gateway sent no X-Trace-Id header")
        self.order_id = order_id

    def read_order(self) -> None:
        order = self.call("GET", f"/api/v1/orders/{self.order_id}", 200).json()
        self.expect(order.get("reference") == self.reference,
                    f"reference is {order.get('reference')}")
        self.expect(order.get("status") == "PAID", f"status is {order.get('status')}, not PAID")
        self.expect(abs(float(order.get("amount", 0)) - float(self.product["price"])) < 0.01,
                    f"amount {order.get('amount')} != price {self.product['price']}")
        lines = self.call("GET", f"/api/v1/order-lines/order/{self.order_id}", 200).json()
        self.expect([line["productId"] for line in lines] == [self.product["id"]],
                    f"order lines are {lines}")
        history = self.call("GET", "/api/v1/orders", 200,
                            params={"customerId": self.customer_id}).json()
        self.expect([o["id"] for o in history] == [self.order_id], "order history is wrong")

    def payment_recorded(self) -> None:
        payments = self.call("GET", "/api/v1/payments", 200,
                             params={"orderReference": self.reference}).json()
        self.expect(len(payments) == 1, f"{len(payments)} payments for {self.reference}")
        self.expect(abs(float(payments[0]["amount"]) - float(self.product["price"])) < 0.01,
                    f"payment amount is {payments[0]['amount']}")

    def notifications_arrive(self) -> None:
        wanted = {"ORDER_CONFIRMATION", "PAYMENT_CONFIRMATION"}
        deadline = time.monotonic() + self.notify_timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            got = self.call("GET", "/api/v1/notifications", 200,
                            params={"orderReference": self.reference}).json()
            seen = [n["type"] for n in got]
            if set(seen) >= wanted:
                self.expect(sorted(seen) == sorted(wanted), f"duplicates: {seen}")
                return
            time.sleep(0.3)
        raise CheckFailed(f"after {self.notify_timeout:.0f} s only {seen or 'none'} arrived")

    def bad_request_gets_400(self) -> None:
        response = self.call("POST", "/api/v1/orders", 400,
                             json={"paymentMethod": "VISA", "products": []})
        body = self.expect_error_envelope(response, 400)
        self.expect("customerId" in str(body.get("errors", body.get("message"))),
                    f"the 400 does not name customerId: {body}")

    def unknown_customer_gets_400(self) -> None:
        body = {"paymentMethod": "VISA", "customerId": f"no-such-{self.run_id}",
                "products": [{"productId": self.product["id"], "quantity": 1}]}
        response = self.call("POST", "/api/v1/orders", 400, json=body)
        self.expect_error_envelope(response, 400)

    def unknown_product_gets_404(self) -> None:
        response = self.call("GET", "/api/v1/products/2147483647", 404)
        self.expect_error_envelope(response, 404)

    def unknown_order_gets_404(self) -> None:
        response = self.call("GET", "/api/v1/orders/2147483647", 404)
        self.expect_error_envelope(response, 404)


# (check name, method, names of the checks it needs)
CHECKS: list[tuple[str, Callable[[Smoke], None], tuple[str, ...]]] = [
    ("gateway ready", Smoke.gateway_ready, ()),
    ("create customer", Smoke.create_customer, ()),
    ("read customer", Smoke.read_customer, ("create customer",)),
    ("list products", Smoke.list_products, ()),
    ("place order", Smoke.place_order, ("create customer", "list products")),
    ("read order", Smoke.read_order, ("place order",)),
    ("payment recorded", Smoke.payment_recorded, ("place order",)),
    ("notifications arrive", Smoke.notifications_arrive, ("place order",)),
    ("bad request gets 400", Smoke.bad_request_gets_400, ()),
    ("unknown customer gets 400", Smoke.unknown_customer_gets_400, ("list products",)),
    ("unknown product gets 404", Smoke.unknown_product_gets_404, ()),
    ("unknown order gets 404", Smoke.unknown_order_gets_404, ()),
]


def run(url: str, *, notify_timeout: float = 20.0, timeout: float = 30.0) -> Iterator[Result]:
    """Run every check against the gateway at `url`, yielding each result as it is known."""
    passed: set[str] = set()
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
        smoke = Smoke(client, notify_timeout=notify_timeout)
        for name, check, needs in CHECKS:
            missing = [n for n in needs if n not in passed]
            if missing:
                yield Result(name, "SKIP", f"needs {', '.join(missing)}")
                continue
            start = time.monotonic()
            try:
                check(smoke)
            except (CheckFailed, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                detail = str(exc) or type(exc).__name__
                if isinstance(exc, httpx.HTTPError):
                    detail = f"{type(exc).__name__}: {detail}"
                yield Result(name, "FAIL", detail, time.monotonic() - start)
            else:
                passed.add(name)
                yield Result(name, "PASS", seconds=time.monotonic() - start)


def main(url: str, *, notify_timeout: float = 20.0, echo: Callable[[str], Any] = print) -> int:
    """Print one line per check and a summary; 0 when all passed, else 1."""
    results = []
    for result in run(url, notify_timeout=notify_timeout):
        echo(result.line())
        results.append(result)
    failed = [r.name for r in results if r.status == "FAIL"]
    skipped = sum(r.status == "SKIP" for r in results)
    passed = len(results) - len(failed) - skipped
    if failed:
        echo(f"smoke FAILED against {url}: {', '.join(failed)} "
             f"({passed} passed, {len(failed)} failed, {skipped} skipped)")
        return 1
    echo(f"smoke passed against {url}: {passed} checks")
    return 0


if __name__ == "__main__":
    from services.common.settings import get_settings

    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else get_settings().url("gateway")))
