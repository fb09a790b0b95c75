"""Product service contract: catalogue, locked all-or-nothing purchases, idempotency, cancel."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

P = "/api/v1/products"


@pytest.fixture(scope="module")
def api(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url("product"), timeout=20) as client:
        yield client


def _new_product(api: httpx.Client, quantity: float, price: float = 10.0) -> int:
    categories = {p["categoryId"] for p in api.get(P).json()}
    response = api.post(P, json={
        "name": f"Test item {uuid.uuid4().hex[:6]}", "description": "for a test",
        "availableQuantity": quantity, "price": price, "categoryId": min(categories),
    })
    assert response.status_code == 200, response.text
    return response.json()


def _stock(api: httpx.Client, product_id: int) -> float:
    return api.get(f"{P}/{product_id}").json()["availableQuantity"]


def test_seeded_catalogue_is_paged_and_has_categories(api: httpx.Client) -> None:
    everything = api.get(P, params={"size": 500})
    products = everything.json()
    assert int(everything.headers["X-Total-Count"]) >= 20 and len(products) >= 20
    assert len({p["categoryName"] for p in products}) >= 5
    assert all(p["price"] > 0 and p["availableQuantity"] >= 0 for p in products)
    page = api.get(P, params={"page": 1, "size": 5}).json()
    assert [p["id"] for p in page] == [p["id"] for p in products[5:10]]
    one = api.get(f"{P}/{products[0]['id']}").json()
    assert set(one) == {"id", "name", "description", "availableQuantity", "price", "categoryId",
                        "categoryName", "categoryDescription"}


def test_unknown_product_is_404(api: httpx.Client) -> None:
    response = api.get(f"{P}/987654")
    assert response.status_code == 404
    assert response.json()["message"] == "Product not found with ID:: 987654"


def test_purchase_merges_duplicates_and_decrements(api: httpx.Client) -> None:
    a, b = _new_product(api, 10, 2.5), _new_product(api, 10, 4.0)
    response = api.post(f"{P}/purchase", json=[
        {"productId": a, "quantity": 2}, {"productId": b, "quantity": 1},
        {"productId": a, "quantity": 1},
    ])
    assert response.status_code == 200, response.text
    lines = {line["productId"]: line for line in response.json()}
    assert lines[a]["quantity"] == 3 and lines[a]["price"] == 2.5 and lines[b]["quantity"] == 1
    assert set(lines[a]) == {"productId", "name", "description", "price", "quantity"}
    assert (_stock(api, a), _stock(api, b)) == (7, 9)


def test_purchase_is_all_or_nothing(api: httpx.Client) -> None:
    a, b = _new_product(api, 5), _new_product(api, 1)
    short = api.post(f"{P}/purchase", json=[{"productId": a, "quantity": 2},
                                        {"productId": b, "quantity": 2}])
    assert short.status_code == 409
    assert f"Insufficient stock quantity for product with ID:: {b}" in short.json()["message"]
    unknown = api.post(f"{P}/purchase", json=[{"productId": a, "quantity": 1},
                                          {"productId": 987654, "quantity": 1}])
    assert unknown.status_code == 404
    assert "987654" in unknown.json()["message"]
    assert (_stock(api, a), _stock(api, b)) == (5, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ([{"productId": 1, "quantity": 0}], "0.quantity"),
        ([{"productId": "one", "quantity": 1}], "0.productId"),
        ([{"quantity": 1}], "0.productId"),
    ],
)
def test_bad_purchase_is_400_naming_the_field(api: httpx.Client, body: list, field: str) -> None:
    before = _stock(api, 1)
    response = api.post(f"{P}/purchase", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    assert _stock(api, 1) == before


def test_bad_new_product_is_400_and_stores_nothing(api: httpx.Client) -> None:
    total = int(api.get(P).headers["X-Total-Count"])
    for body, field in [
        ({"name": "x", "description": "y", "availableQuantity": 1, "price": 1,
          "categoryId": 987654}, "categoryId"),
        ({"name": "x", "description": "y", "availableQuantity": 1, "price": -1,
          "categoryId": 1}, "price"),
        ({"name": "", "description": "y", "availableQuantity": 1, "price": 1,
          "categoryId": 1}, "name"),
    ]:
        response = api.post(P, json=body)
        assert response.status_code == 400, response.text
        assert field in response.json()["errors"]
    assert int(api.get(P).headers["X-Total-Count"]) == total


def test_idempotency_key_replays_and_cancel_compensates(api: httpx.Client) -> None:
    product = _new_product(api, 10)
    key = {"Idempotency-Key": f"order-{uuid.uuid4().hex[:8]}"}
    body = [{"productId": product, "quantity": 4}]
    first = api.post(f"{P}/purchase", json=body, headers=key)
    again = api.post(f"{P}/purchase", json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert _stock(api, product) == 6
    other = api.post(f"{P}/purchase", json=[{"productId": product, "quantity": 1}], headers=key)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["errors"]

    reference = key["Idempotency-Key"]
    for _ in range(2):  # the cancel is idempotent too
        cancel = api.post(f"{P}/purchase/{reference}/cancel")
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "CANCELLED"
        assert _stock(api, product) == 10
    assert api.post(f"{P}/purchase/no-such-order/cancel").status_code == 404


def test_concurrent_purchases_of_the_last_units_never_oversell(api: httpx.Client) -> None:
    product = _new_product(api, 5)
    url = str(api.base_url.join(f"{P}/purchase"))

    def buy(_: int) -> int:
        return httpx.post(url, json=[{"productId": product, "quantity": 1}], timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(buy, range(20)))
    assert statuses.count(200) == 5, statuses
    assert statuses.count(409) == 15, statuses
    assert _stock(api, product) == 0
