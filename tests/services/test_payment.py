"""Payment service contract: idempotent by order reference, validated nested customer."""

from __future__ import annotations

import uuid

import httpx
import pytest

P = "/api/v1/payments"


@pytest.fixture(scope="module")
def api(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url("payment"), timeout=10) as client:
        yield client


def payment_body(**overrides) -> dict:
    body = {
        "amount": 129.98,
        "paymentMethod": "VISA",
        "orderId": 7,
        "orderReference": f"ORD-{uuid.uuid4().hex[:10]}",
        "customer": {"id": "c-1", "firstname": "Grace", "lastname": "Hopper",
                     "email": "grace@example.com"},
    }
    return body | overrides


def test_pay_get_and_list(api: httpx.Client) -> None:
    body = payment_body()
    created = api.post(P, json=body)
    assert created.status_code == 200, created.text
    payment_id = created.json()
    assert isinstance(payment_id, int)
    got = api.get(f"{P}/{payment_id}").json()
    assert got["orderReference"] == body["orderReference"]
    assert got["amount"] == 129.98 and got["paymentMethod"] == "VISA" and got["orderId"] == 7
    assert got["customerId"] == "c-1" and got["customerEmail"] == "grace@example.com"
    listed = api.get(P, params={"orderReference": body["orderReference"]}).json()
    assert [p["id"] for p in listed] == [payment_id]
    assert payment_id in [p["id"] for p in api.get(P, params={"customerId": "c-1"}).json()]


def test_paying_the_same_order_twice_is_one_payment(api: httpx.Client) -> None:
    body = payment_body()
    first, again = api.post(P, json=body), api.post(P, json=body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(api.get(P, params={"orderReference": body["orderReference"]}).json()) == 1
    different = api.post(P, json=body | {"amount": 1.0})
    assert different.status_code == 409
    assert "orderReference" in different.json()["errors"]


def test_unknown_payment_is_404(api: httpx.Client) -> None:
    response = api.get(f"{P}/987654")
    assert response.status_code == 404
    assert "987654" in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": {"id": "c-1", "firstname": "G", "lastname": "H", "email": "nope"}},
         "customer.email"),
        ({"customer": {"id": "c-1", "lastname": "H", "email": "g@example.com"}},
         "customer.firstname"),
        ({"paymentMethod": "CASH"}, "paymentMethod"),
        ({"amount": 0}, "amount"),
        ({"orderReference": " "}, "orderReference"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    api: httpx.Client, change: dict, field: str
) -> None:
    body = payment_body()
    response = api.post(P, json=body | change)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    assert api.get(P, params={"orderReference": body["orderReference"]}).json() == []
