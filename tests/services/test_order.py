"""Order service on the real stack: placement, amounts, replays, errors, compensation, queries."""

from __future__ import annotations

import uuid

from services.order.settings import OrderSettings
from tests.services._shop import Shop, wait_until

SETTINGS = OrderSettings()


def test_order_is_paid_with_amount_from_purchase_prices(shop: Shop, buyer: str) -> None:
    cheap, dear = shop.product(stock=50, price=2.50), shop.product(stock=50, price=10.00)
    body = shop.order_body(buyer, cheap, 2)
    body["products"].append({"productId": dear, "quantity": 3})
    response = shop.place(body)
    assert response.status_code == 200, response.text
    order_id = response.json()
    assert isinstance(order_id, int)
    order = shop.order(order_id)
    assert order["status"] == "PAID"
    assert order["amount"] == 35.0
    assert order["customerId"] == buyer
    assert {(line["productId"], line["quantity"], line["price"]) for line in order["lines"]} == {
        (cheap, 2.0, 2.5), (dear, 3.0, 10.0)}
    assert (shop.stock(cheap), shop.stock(dear)) == (48, 47)
    [payment] = shop.payments(order["reference"])
    assert payment["amount"] == 35.0
    lines = shop.get("order", f"/api/v1/order-lines/order/{order_id}").json()
    assert sorted(line["productId"] for line in lines) == sorted([cheap, dear])
    mine = shop.get("order", "/api/v1/orders", params={"customerId": buyer}).json()
    assert order_id in [o["id"] for o in mine] and all(o["customerId"] == buyer for o in mine)


def test_order_confirmation_is_published_from_the_outbox(shop: Shop, buyer: str) -> None:
    reference = f"T-{uuid.uuid4().hex[:10]}"
    response = shop.place(shop.order_body(buyer, shop.product(), reference=reference))
    assert response.status_code == 200, response.text
    stored = wait_until(lambda: shop.get("notification", "/api/v1/notifications",
                                         params={"orderReference": reference}).json(),
                        timeout=10, what="the order's notifications")
    types = {n["type"] for n in stored}
    assert "ORDER_CONFIRMATION" in types
    confirmation = next(n for n in stored if n["type"] == "ORDER_CONFIRMATION")
    assert confirmation["orderConfirmation"]["orderReference"] == reference


def test_replayed_reference_gives_the_same_order_and_buys_once(shop: Shop, buyer: str) -> None:
    product = shop.product(stock=10)
    body = shop.order_body(buyer, product, 4, reference=f"T-{uuid.uuid4().hex[:10]}")
    first, again = shop.place(body), shop.place(body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert shop.stock(product) == 6
    assert len(shop.payments(body["reference"])) == 1
    other = shop.place({**body, "products": [{"productId": product, "quantity": 1}]})
    assert other.status_code == 409
    assert "already used" in other.json()["message"]


def _orders_of(shop: Shop, customer: str) -> list[dict]:
    return shop.get("order", "/api/v1/orders", params={"customerId": customer}).json()


def test_unknown_customer_is_400_and_buys_nothing(shop: Shop) -> None:
    product = shop.product(stock=5)
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    response = shop.place(shop.order_body(ghost, product))
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == (
        f"Cannot create order:: No customer exists with the provided ID: {ghost}")
    assert len(body["traceId"]) == 32
    assert shop.stock(product) == 5
    assert _orders_of(shop, ghost) == []


def test_out_of_stock_is_409_and_unknown_product_404_both_without_a_row(shop: Shop) -> None:
    customer = shop.customer()
    product = shop.product(stock=2)
    short = shop.place(shop.order_body(customer, product, 3))
    assert short.status_code == 409
    assert f"product with ID:: {product}" in short.json()["message"]
    missing = shop.place(shop.order_body(customer, 987654321))
    assert missing.status_code == 404
    assert "987654321" in missing.json()["message"]
    assert shop.stock(product) == 2
    assert _orders_of(shop, customer) == []


def test_amount_mismatch_is_400_and_the_stock_comes_back_unless_retried(
        shop: Shop, buyer: str) -> None:
    """The purchase is given back after the compensation delay, unless a retry of the same
    reference saved the order meanwhile (then the retry reused the purchase)."""
    abandoned, retried = shop.product(stock=7, price=5.00), shop.product(stock=7, price=5.00)
    reference = f"T-{uuid.uuid4().hex[:10]}"
    for product, ref in ((abandoned, None), (retried, reference)):
        response = shop.place(shop.order_body(buyer, product, 2, reference=ref, amount=99.0))
        assert response.status_code == 400
        assert response.json()["errors"] == {"amount": "expected 10.00"}
    fixed = shop.place(shop.order_body(buyer, retried, 2, reference=reference, amount=10.0))
    assert fixed.status_code == 200, fixed.text
    wait_until(lambda: shop.stock(abandoned) == 7, timeout=SETTINGS.compensation_delay + 5,
               what="the compensating cancel")
    wait_until(lambda: any(e["reference"] == reference for e in shop.log_events(
        "order", "purchase kept: the order was saved by a retry")), timeout=5,
        what="the compensation to see the saved order")
    assert shop.stock(retried) == 5
    assert shop.order(fixed.json())["status"] == "PAID"


def test_payment_rejection_cancels_the_order_and_releases_stock(shop: Shop, buyer: str) -> None:
    """Payment answers 409 (reference already paid with other details): a final rejection."""
    product = shop.product(stock=9, price=1.00)
    reference = f"T-{uuid.uuid4().hex[:10]}"
    prepaid = shop.post("payment", "/api/v1/payments", json={
        "amount": 123.0, "paymentMethod": "VISA", "orderId": 1, "orderReference": reference,
        "customer": {"id": buyer, "firstname": "Test", "lastname": "Buyer",
                     "email": "buyer@example.com"}})
    assert prepaid.status_code == 200, prepaid.text
    response = shop.place(shop.order_body(buyer, product, 3, reference=reference))
    assert response.status_code == 402, response.text
    assert "rejected" in response.json()["message"]
    wait_until(lambda: shop.stock(product) == 9, timeout=5, what="the compensating cancel")
    [order] = [o for o in _orders_of(shop, buyer) if o["reference"] == reference]
    assert order["status"] == "PAYMENT_FAILED"
    assert len(shop.payments(reference)) == 1


def test_bad_input_is_400_naming_each_field(shop: Shop) -> None:
    response = shop.place({"paymentMethod": "CASH", "customerId": " ", "products": []})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"paymentMethod", "customerId", "products"}
    zero = shop.place({"paymentMethod": "VISA", "customerId": "x",
                       "products": [{"productId": 1, "quantity": 0}]})
    assert zero.status_code == 400
    assert "products.0.quantity" in zero.json()["errors"]


def test_unknown_order_is_404_and_has_no_lines(shop: Shop) -> None:
    response = shop.get("order", "/api/v1/orders/99999999")
    assert response.status_code == 404
    assert response.json()["message"] == "No order found with the provided ID: 99999999"
    assert shop.get("order", "/api/v1/order-lines/order/99999999").json() == []


def test_breaker_state_is_on_health(shop: Shop) -> None:
    body = shop.get("order", "/health/breakers").json()
    assert body["payment"]["target"] == "payment"
    assert body["payment"]["state"] in {"closed", "open", "half-open"}
