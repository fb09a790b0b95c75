"""Customer service contract against the running stack (real PostgreSQL)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

P = "/api/v1/customers"
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def api(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url("customer"), timeout=10) as client:
        yield client


def _body(**overrides):
    tag = uuid.uuid4().hex[:8]
    body = {
        "firstname": "Ada",
        "lastname": "Lovelace",
        "email": f"ada.{tag}@example.com",
        "address": {"street": "St James's Square", "houseNumber": "12", "zipCode": "SW1Y"},
    }
    return body | overrides


def test_create_get_update_delete(api: httpx.Client) -> None:
    body = _body()
    created = api.post(P, json=body)
    assert created.status_code == 200, created.text
    customer_id = created.json()
    assert isinstance(customer_id, str) and customer_id

    got = api.get(f"{P}/{customer_id}").json()
    assert got == {"id": customer_id, **body}
    assert api.get(f"{P}/exists/{customer_id}").json() is True

    updated = api.put(P, json=_body(id=customer_id, lastname="King", email=body["email"]))
    assert updated.status_code == 202
    assert api.get(f"{P}/{customer_id}").json()["lastname"] == "King"  # the original ignored it
    assert customer_id in [c["id"] for c in api.get(P).json()]

    assert api.delete(f"{P}/{customer_id}").status_code == 202
    assert api.get(f"{P}/exists/{customer_id}").json() is False
    missing = api.get(f"{P}/{customer_id}")
    assert missing.status_code == 404
    assert missing.json()["message"] == f"No customer found with the provided ID: {customer_id}"
    assert api.delete(f"{P}/{customer_id}").status_code == 202  # unknown id: still 202


def test_update_unknown_customer_is_404(api: httpx.Client) -> None:
    response = api.put(P, json=_body(id="no-such-customer"))
    assert response.status_code == 404
    assert "no-such-customer" in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"firstname": "  "}, "firstname"),
        ({"lastname": None}, "lastname"),
        ({"address": {"zipCode": "x" * 50}}, "address.zipCode"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    api: httpx.Client, change: dict, field: str
) -> None:
    body = _body(**change)
    response = api.post(P, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == 400 and error["error"] == "Bad Request"
    assert field in error["errors"], error
    assert TRACE_ID.match(error["traceId"] or ""), error
    if isinstance(body.get("email"), str):
        assert api.get(P, params={"email": body["email"]}).json() == []


def test_malformed_json_and_update_without_id(api: httpx.Client) -> None:
    response = api.post(P, content=b'{"firstname": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    response = api.put(P, json=_body())
    assert response.status_code == 400
    assert response.json()["errors"] == {"id": "required"}
