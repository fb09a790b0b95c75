"""The issue's main promise: an order through the gateway, end to end on real PG and RabbitMQ."""

from __future__ import annotations

import time
import uuid

import httpx

from services.mailsink import read_mails


def eventually(check, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def test_order_through_the_gateway_reaches_every_service_and_the_mailbox(stack) -> None:
    gw = httpx.Client(base_url=stack.gateway_url, timeout=20)
    tag = uuid.uuid4().hex[:8]
    email = f"flow.{tag}@example.com"
    customer = gw.post("/api/v1/customers", json={
        "firstname": "Flow", "lastname": "Tester", "email": email,
        "address": {"street": "Main St", "houseNumber": "1", "zipCode": "10115"}})
    assert customer.status_code == 200, customer.text
    products = gw.get("/api/v1/products", params={"size": 3}).json()
    first, second = products[0], products[1]
    reference = f"FLOW-{tag}"

    started = time.monotonic()
    placed = gw.post("/api/v1/orders", json={
        "reference": reference, "paymentMethod": "VISA", "customerId": customer.json(),
        "products": [{"productId": first["id"], "quantity": 2},
                     {"productId": second["id"], "quantity": 1}]})
    assert placed.status_code == 200, placed.text  # the original's success answer: the order id
    order_id = placed.json()
    assert isinstance(order_id, int)

    expected = round(2 * first["price"] + second["price"], 2)
    order = gw.get(f"/api/v1/orders/{order_id}").json()
    assert order["reference"] == reference and order["amount"] == expected

    for product, bought in ((first, 2), (second, 1)):
        now = gw.get(f"/api/v1/products/{product['id']}").json()["availableQuantity"]
        assert now == product["availableQuantity"] - bought

    payments = gw.get("/api/v1/payments", params={"orderReference": reference}).json()
    assert len(payments) == 1 and payments[0]["amount"] == expected

    def notified() -> set[str]:
        found = gw.get("/api/v1/notifications", params={"orderReference": reference}).json()
        return {n["type"] for n in found}

    assert eventually(
        lambda: notified() == {"ORDER_CONFIRMATION", "PAYMENT_CONFIRMATION"}, timeout=5
    ), notified()

    def mails() -> list:
        return [m for m in read_mails(stack.var_dir / "mail")
                if m.header("X-Order-Reference") == reference]

    assert eventually(lambda: len(mails()) == 2, timeout=max(0.1, 5 - (time.monotonic() - started)))
    assert {m.recipients for m in mails()} == {(email,)}
    assert time.monotonic() - started < 5
