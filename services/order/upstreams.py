"""Calls from order to customer, product and payment, each with its own timeout.

Every failure becomes one of two exceptions: `UpstreamRejected` (the peer answered 4xx: a
business answer, passed on to the client) or `UpstreamUnavailable` (5xx, timeout, connection
error: the peer is not usable now). Only the idempotent customer GET is retried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.common import faults
from services.common.http import make_client
from services.common.settings import Settings
from services.order.settings import OrderSettings

log = structlog.get_logger()


class UpstreamRejected(Exception):
    """The peer answered 4xx; `status` and `message` come from its error body."""

    def __init__(self, peer: str, status: int, message: str):
        super().__init__(f"{peer} rejected the request ({status}): {message}")
        self.peer, self.status, self.message = peer, status, message


class UpstreamUnavailable(Exception):
    """The peer could not answer usefully; `retryable` for connect errors and 5xx."""

    def __init__(self, peer: str, reason: str, retryable: bool):
        super().__init__(f"{peer} service unavailable: {reason}")
        self.peer, self.reason, self.retryable = peer, reason, retryable


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:200]


async def _request(client: httpx.AsyncClient, peer: str, method: str, url: str,
                   **kwargs: Any) -> httpx.Response:
    """One HTTP call; 2xx back, anything else raised as `UpstreamRejected`/`Unavailable`."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        reason = f"no answer within {client.timeout.read} s ({type(exc).__name__})"
        retryable = isinstance(exc, httpx.ConnectTimeout)
        raise UpstreamUnavailable(peer, reason, retryable) from exc
    except httpx.TransportError as exc:
        raise UpstreamUnavailable(peer, f"{type(exc).__name__}: {exc}", retryable=True) from exc
    if response.status_code >= 500:
        raise UpstreamUnavailable(peer, f"{response.status_code} {_message(response)}",
                                  retryable=True)
    if response.status_code >= 400:
        raise UpstreamRejected(peer, response.status_code, _message(response))
    return response


class Upstreams:
    """The order service's HTTP clients (direct, or all through the gateway)."""

    def __init__(self, settings: Settings, order: OrderSettings):
        self.order = order

        def base(name: str) -> str:
            return settings.url("gateway" if settings.order_upstream_via_gateway else name)

        self.customer = make_client("customer", base("customer"), order.customer_timeout)
        self.product = make_client("product", base("product"), order.product_timeout)
        self.payment = make_client("payment", base("payment"), order.payment_timeout)
        self.unreachable_payment = make_client("payment", faults.UNREACHABLE_URL,
                                               order.payment_timeout)

    async def close(self) -> None:
        for client in (self.customer, self.product, self.payment, self.unreachable_payment):
            await client.aclose()

    async def get_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer (retried with jittered backoff on connect errors and 5xx)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(1 + self.order.customer_retries),
            wait=wait_exponential_jitter(initial=0.1, max=0.5),
            retry=retry_if_exception(
                lambda exc: isinstance(exc, UpstreamUnavailable) and exc.retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await _request(self.customer, "customer", "GET",
                                          f"/api/v1/customers/{customer_id}")
        return response.json()

    async def purchase(self, reference: str, products: list[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
        """Buy the products for order `reference` (a replay returns the first result)."""
        response = await _request(self.product, "product", "POST", "/api/v1/products/purchase",
                                  json=products, headers={"Idempotency-Key": reference})
        return response.json()

    async def cancel_purchase(self, reference: str) -> None:
        """Give back the stock of order `reference` (idempotent, retried)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(4),
            wait=wait_exponential_jitter(initial=0.2, max=2),
            retry=retry_if_exception(lambda exc: isinstance(exc, UpstreamUnavailable)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await _request(self.product, "product", "POST",
                               f"/api/v1/products/purchase/{reference}/cancel")

    async def pay(self, payment: dict[str, Any]) -> int:
        """Charge the order (idempotent by `orderReference`); the payment id back."""
        client = self.payment
        if faults.value(faults.PAYMENT_UNREACHABLE, False):
            client = self.unreachable_payment
        response = await _request(client, "payment", "POST", "/api/v1/payments", json=payment)
        return int(response.json())


def customer_summary(customer: dict[str, Any]) -> dict[str, Any]:
    """The customer fields that travel with an order (payment request, confirmation)."""
    return {k: customer.get(k) for k in ("id", "firstname", "lastname", "email")}


def payment_request(order_id: int, reference: str, amount: Decimal, payment_method: str,
                    customer: dict[str, Any]) -> dict[str, Any]:
    """The payment service's request body for one order."""
    return {
        "amount": float(amount),
        "paymentMethod": payment_method,
        "orderId": order_id,
        "orderReference": reference,
        "customer": customer_summary(customer),
    }
