"""Strict input on the test stack, through the gateway: no coercion of strings, booleans or
fractions into ids and quantities, overflow is a 400 not a 500, ids past the column are 404, a
NUL is refused, and a retried POST with the same Idempotency-Key makes one order only."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.services._shop import Shop

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def shop(stack) -> Shop:
    return Shop(stack)


@pytest.fixture(scope="module")
def buyer(shop: Shop) -> tuple[str, int]:
    return shop.customer(), shop.product()


def orders_of(shop: Shop, customer_id: str) -> list[dict]:
    response = shop.get("order", "/api/v1/orders", params={"customerId": customer_id})
    assert response.status_code == 200
    return response.json()


def gateway_post(shop: Shop, body: bytes | dict, **headers: str) -> httpx.Response:
    url = f"{shop.stack.gateway_url}/api/v1/orders"
    if isinstance(body, bytes):
        return shop.http.post(url, content=body, headers={"Content-Type": "application/json",
                                                           **headers})  # fmt: skip
    return shop.http.post(url, json=body, headers=headers)


LAX_LINES = {
    "string quantity": lambda p: {"productId": p, "quantity": "1"},
    "bool id": lambda p: {"productId": True, "quantity": 1},
    "string id": lambda p: {"productId": str(p), "quantity": 1},
    "fraction of an item": lambda p: {"productId": p, "quantity": 0.0001},
    "float quantity": lambda p: {"productId": p, "quantity": 1.5},
    "zero quantity": lambda p: {"productId": p, "quantity": 0},
    "id past the column": lambda p: {"productId": 2**31, "quantity": 1},
}


@pytest.mark.parametrize("case", sorted(LAX_LINES))
def test_lax_order_lines_are_400(shop: Shop, buyer, case: str) -> None:
    customer, product = buyer
    body = shop.order_body(customer, product) | {"products": [LAX_LINES[case](product)]}
    response = gateway_post(shop, body)
    assert response.status_code == 400, response.text
    assert orders_of(shop, customer) == []


@pytest.mark.parametrize("raw", [
    b'{"paymentMethod":"VISA","customerId":"%s","products":[{"productId":%d,"quantity":Infinity}]}',
    b'{"paymentMethod":"VISA","customerId":"%s","products":[{"productId":%d,"quantity":1e400}]}',
    b'{"paymentMethod":"VISA","customerId":"%s\\u0000","products":[{"productId":%d,"quantity":1}]}',
    b'{"paymentMethod":"VISA","customerId":"%s","amount":1e400,'
    b'"products":[{"productId":%d,"quantity":1}]}',
])  # fmt: skip
def test_overflow_and_nul_are_400_not_500(shop: Shop, buyer, raw: bytes) -> None:
    customer, product = buyer
    response = gateway_post(shop, raw % (customer.encode(), product))
    assert response.status_code == 400, response.text
    assert orders_of(shop, customer) == []


@pytest.mark.parametrize("path", ["/api/v1/orders/2147483648", "/api/v1/orders/99999999999999",
                                  "/api/v1/products/2147483648", "/api/v1/payments/2147483648",
                                  "/api/v1/orders/0"])
def test_ids_past_the_column_are_404(shop: Shop, path: str) -> None:
    assert shop.http.get(f"{shop.stack.gateway_url}{path}").status_code == 404
    assert shop.http.get(f"{shop.stack.gateway_url}/api/v1/order-lines/order/2147483648"
                         ).json() == []  # fmt: skip


def test_a_nul_in_a_query_is_not_a_500(shop: Shop) -> None:
    response = shop.http.get(f"{shop.stack.gateway_url}/api/v1/orders",
                             params={"customerId": "a\x00b"})
    assert response.status_code < 500, response.text


def test_a_retried_post_with_an_idempotency_key_makes_one_order(shop: Shop, buyer) -> None:
    customer, product = buyer
    body = shop.order_body(customer, product)
    key = f"retry-{uuid.uuid4().hex}"
    first = gateway_post(shop, body, **{"Idempotency-Key": key})
    again = gateway_post(shop, body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    orders = orders_of(shop, customer)
    assert [o["reference"] for o in orders] == [key]
    assert len(shop.payments(key)) == 1
    other = gateway_post(shop, shop.order_body(customer, product, quantity=2),
                         **{"Idempotency-Key": key})
    assert other.status_code == 409  # the key names another order's content
    assert gateway_post(shop, body, **{"Idempotency-Key": "bad key!"}).status_code == 400
