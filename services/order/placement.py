"""Placing an order: customer check → purchase → one local tx → payment through the breaker.

The answer is 200 with the order id when paid, 202 with a `PAYMENT_PENDING` body when payment
is unavailable (the settler pays later), or an error envelope: 400 unknown customer, 404/409
from product, 402 payment rejected (stock given back), 503 when a dependency is down.
A failure after the purchase gives the stock back, so there is never a half-written order.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.common import metrics, telemetry
from services.common.breaker import CircuitOpenError
from services.common.broker import ORDER_CONFIRMED
from services.common.db import is_unavailable
from services.common.errors import ApiError
from services.order.models import Order, OrderLine, OrderStatus, OutboxMessage
from services.order.runtime import OrderRuntime
from services.order.schemas import OrderRequest, PendingResponse
from services.order.upstreams import (
    UpstreamRejected,
    UpstreamUnavailable,
    customer_summary,
    payment_request,
)

log = structlog.get_logger()
CENT = Decimal("0.01")
PAYMENT_DOWN = (CircuitOpenError, UpstreamUnavailable, TimeoutError)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def fingerprint(body: OrderRequest) -> str:
    """Same order content → same hash (a replay of a reference must match it)."""
    products = sorted((p.product_id, p.quantity) for p in body.products)
    canonical = [body.customer_id, body.payment_method.value, products,
                 str(body.amount) if body.amount is not None else None]
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def pending_message(reference: str, reason: str, retry_after: float) -> str:
    when = f"in about {retry_after:.0f} s" if retry_after >= 1 else "shortly"
    return (
        f"Order {reference} is saved and its items are reserved, but payment could not be "
        f"taken now ({reason}). Payment will be retried automatically {when}; the order "
        f"moves to PAID then, and it is never charged twice."
    )


def answer_for(order: Order, reason: str = "payment service unavailable",
               retry_after: float = 0.0) -> Answer:
    """The answer that matches an order's state (also for a replayed reference)."""
    if order.status == OrderStatus.PAID:
        return Answer(200, order.id)
    if order.status == OrderStatus.PAYMENT_FAILED:
        raise ApiError(402, f"Payment for order {order.reference} was rejected "
                            f"({order.last_payment_error}); the order is cancelled and its "
                            f"stock released.")
    body = PendingResponse(order_id=order.id, reference=order.reference,
                           status=OrderStatus.PAYMENT_PENDING,
                           message=pending_message(order.reference, reason, retry_after))
    return Answer(202, body.model_dump(by_alias=True))


def confirmation(reference: str, amount: Decimal, payment_method: str,
                 customer: dict[str, Any], purchased: list[dict[str, Any]]) -> dict[str, Any]:
    """The `orderConfirmation` message body (the original's shape, amounts as numbers)."""
    return {
        "orderReference": reference,
        "totalAmount": float(amount),
        "paymentMethod": payment_method,
        "customer": customer_summary(customer),
        "products": [
            {k: p.get(k) for k in ("productId", "name", "description", "price", "quantity")}
            for p in purchased
        ],
    }


async def _existing(rt: OrderRuntime, reference: str) -> Order | None:
    async with rt.session() as session:
        return await session.scalar(select(Order).where(Order.reference == reference))


def _replay(order: Order, print_: str) -> Answer:
    if order.request_fingerprint != print_:
        raise ApiError(409, f"Order reference {order.reference} is already used by another order",
                       {"reference": "already used by another order"})
    log.info("order replayed", order_id=order.id, reference=order.reference)
    return answer_for(order)


async def _check_customer(rt: OrderRuntime, customer_id: str) -> dict[str, Any]:
    try:
        return await rt.upstreams.get_customer(customer_id)
    except UpstreamRejected as exc:
        if exc.status == 404:
            raise ApiError(
                400, f"Cannot create order:: No customer exists with the provided ID: "
                     f"{customer_id}", {"customerId": "no such customer"}) from exc
        raise ApiError(400, f"Customer check failed: {exc.message}") from exc


async def _purchase(rt: OrderRuntime, reference: str, body: OrderRequest
                    ) -> list[dict[str, Any]]:
    wanted = [p.model_dump(by_alias=True) for p in body.products]
    try:
        return await rt.upstreams.purchase(reference, wanted)
    except UpstreamRejected as exc:
        status = exc.status if exc.status in (400, 404, 409) else 400
        raise ApiError(status, exc.message) from exc
    except UpstreamUnavailable:
        rt.compensate(reference, "purchase outcome unknown", unless_saved=True)
        raise


def _total(purchased: list[dict[str, Any]]) -> Decimal:
    total = sum((Decimal(str(p["price"])) * Decimal(str(p["quantity"])) for p in purchased),
                Decimal(0))
    return total.quantize(CENT)


async def _save(rt: OrderRuntime, reference: str, body: OrderRequest, print_: str,
                customer: dict[str, Any], purchased: list[dict[str, Any]],
                amount: Decimal) -> Order:
    """Order, lines and the confirmation's outbox row in one transaction."""
    order = Order(
        reference=reference, total_amount=amount, payment_method=body.payment_method.value,
        customer_id=body.customer_id, status=OrderStatus.CREATED, request_fingerprint=print_,
        customer=customer_summary(customer),
        payment_attempts=0,
    )
    order.lines = [
        OrderLine(product_id=int(p["productId"]), quantity=float(p["quantity"]),
                  price=Decimal(str(p["price"])))
        for p in purchased
    ]
    outbox = OutboxMessage(
        message_id=str(uuid.uuid4()), routing_key=ORDER_CONFIRMED,
        message_type="orderConfirmation",
        payload=confirmation(reference, amount, order.payment_method, customer, purchased),
        headers=telemetry.inject(),
    )
    async with rt.session() as session:
        session.add_all([order, outbox])
        await session.commit()
    rt.outbox_ready.set()
    return order


async def set_status(rt: OrderRuntime, order_id: int, status: OrderStatus, *,
                     payment_id: int | None = None, error: str | None = None) -> bool:
    """Record a payment outcome; False (logged) when the database is unreachable."""
    values: dict[str, Any] = {"status": status, "payment_attempts": Order.payment_attempts + 1,
                              "last_payment_error": error[:500] if error else None}
    if payment_id is not None:
        values["payment_id"] = payment_id
    try:
        async with rt.session() as session:
            await session.execute(update(Order).where(Order.id == order_id).values(**values))
            await session.commit()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # The settler repairs this: it re-pays stale CREATED orders (idempotent by reference).
        log.warning("order status not recorded", order_id=order_id, status=status.value,
                    error=str(exc).splitlines()[0])
        return False
    return True


async def pay(rt: OrderRuntime, order: Order) -> Answer:
    """Charge `order` through the breaker and record the outcome; the client's answer."""
    request = payment_request(order.id, order.reference, order.total_amount,
                              order.payment_method, order.customer)
    try:
        payment_id = await rt.breaker.call(rt.upstreams.pay, request)
    except UpstreamRejected as exc:
        await set_status(rt, order.id, OrderStatus.PAYMENT_FAILED, error=exc.message)
        rt.compensate(order.reference, "payment rejected")
        order.status, order.last_payment_error = OrderStatus.PAYMENT_FAILED, exc.message
        log.warning("payment rejected", order_id=order.id, reference=order.reference,
                    error=exc.message)
    except PAYMENT_DOWN as exc:
        reason = str(exc) or type(exc).__name__
        await set_status(rt, order.id, OrderStatus.PAYMENT_PENDING, error=reason)
        order.status = OrderStatus.PAYMENT_PENDING
        log.warning("payment pending", order_id=order.id, reference=order.reference,
                    reason=reason, breaker=rt.breaker.state.label)
        retry_after = rt.breaker.retry_after() or rt.settings.settle_interval
        return answer_for(order, reason, retry_after)
    else:
        await set_status(rt, order.id, OrderStatus.PAID, payment_id=payment_id)
        order.status = OrderStatus.PAID
        log.info("order paid", order_id=order.id, reference=order.reference,
                 payment_id=payment_id)
    return answer_for(order)


async def place_order(rt: OrderRuntime, body: OrderRequest) -> Answer:
    """The whole placement flow (module docstring)."""
    print_ = fingerprint(body)
    if body.reference is None:
        reference = f"ORD-{uuid.uuid4().hex[:16].upper()}"  # new: nothing to replay
    elif (existing := await _existing(rt, body.reference)) is not None:
        return _replay(existing, print_)
    else:
        reference = body.reference
    customer = await _check_customer(rt, body.customer_id)
    purchased = await _purchase(rt, reference, body)
    amount = _total(purchased)
    if body.amount is not None and abs(body.amount - amount) > CENT:
        rt.compensate(reference, "amount mismatch", unless_saved=True)
        raise ApiError(400, f"Order amount {body.amount} does not match the purchase total "
                            f"{amount}", {"amount": f"expected {amount}"})
    try:
        order = await _save(rt, reference, body, print_, customer, purchased, amount)
    except IntegrityError:
        # The same reference was saved concurrently (its purchase is the same, keyed by it).
        if (existing := await _existing(rt, reference)) is None:
            raise
        return _replay(existing, print_)
    except BaseException:
        rt.compensate(reference, "order not saved", unless_saved=True)
        raise
    log.info("order saved", order_id=order.id, reference=reference, amount=str(amount))
    try:
        answer = await pay(rt, order)
    finally:
        metrics.orders_placed_total.labels(order.status).inc()
    return answer
