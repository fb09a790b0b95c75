"""Payment service routes (`/api/v1/payments`)."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import Query, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import faults
from services.common.app import create_app
from services.common.broker import PAYMENT_CONFIRMED, Broker
from services.common.db import SessionDep
from services.common.errors import ApiError
from services.common.schemas import in_db_range
from services.payment.models import Base, Payment
from services.payment.schemas import PaymentRequest, PaymentResponse

log = structlog.get_logger()
app = create_app("payment", metadata=Base.metadata, broker=True)


async def _apply_faults(body: PaymentRequest) -> None:
    """Fault switches of the charge: paymentSlowdown sleeps, paymentFailure fails a share.

    See `services.common.faults`; nothing is injected unless a flag is on.
    """
    await faults.delay(faults.PAYMENT_SLOWDOWN)
    if faults.failure_roll(float(faults.value(faults.PAYMENT_FAILURE, 0) or 0)):
        raise ApiError(500, f"Payment request failed. Invalid token. ({body.order_reference})")


def _same_payment(row: Payment, body: PaymentRequest) -> bool:
    return (
        row.amount == body.amount
        and row.payment_method == body.payment_method.value
        and row.customer_id == body.customer.id
    )


async def _record(session: AsyncSession, body: PaymentRequest) -> Payment:
    """The payment of `body.order_reference`: the existing one, else a new committed row."""
    query = select(Payment).where(Payment.order_reference == body.order_reference)
    row = await session.scalar(query)
    if row is None:
        row = Payment(
            order_reference=body.order_reference,
            order_id=body.order_id,
            amount=body.amount,
            payment_method=body.payment_method.value,
            customer_id=body.customer.id,
            customer_firstname=body.customer.firstname,
            customer_lastname=body.customer.lastname,
            customer_email=str(body.customer.email),
            message_id=str(uuid.uuid4()),
        )
        session.add(row)
        try:
            await session.commit()
            log.info("payment recorded", payment_id=row.id, order_reference=row.order_reference,
                     amount=str(row.amount), payment_method=row.payment_method)
            return row
        except IntegrityError:  # the same order paid concurrently: use that payment
            await session.rollback()
            row = await session.scalar(query)
            assert row is not None
    if not _same_payment(row, body):
        raise ApiError(
            409,
            f"Order {body.order_reference} was already paid with different details "
            f"(amount {row.amount}, {row.payment_method})",
            {"orderReference": "already paid with a different amount or method"},
        )
    log.info("payment replayed", payment_id=row.id, order_reference=row.order_reference)
    return row


async def _confirm(session: AsyncSession, broker: Broker, row: Payment) -> None:
    """Publish the paymentConfirmation once (its message id is fixed, so a retry dedupes)."""
    if row.confirmation_sent:
        return
    await broker.publish(
        PAYMENT_CONFIRMED,
        "paymentConfirmation",
        {
            "orderReference": row.order_reference,
            "amount": float(row.amount),
            "paymentMethod": row.payment_method,
            "customerFirstname": row.customer_firstname,
            "customerLastname": row.customer_lastname,
            "customerEmail": row.customer_email,
        },
        message_id=row.message_id,
    )
    row.confirmation_sent = True
    await session.commit()


@app.post("/api/v1/payments")
async def create_payment(body: PaymentRequest, session: SessionDep, request: Request) -> int:
    """Pay an order; the payment id back. Paying the same order again returns the same id."""
    await _apply_faults(body)
    row = await _record(session, body)
    await _confirm(session, request.app.state.broker, row)
    return row.id


def _to_response(row: Payment) -> PaymentResponse:
    return PaymentResponse(
        id=row.id,
        amount=float(row.amount),
        payment_method=row.payment_method,
        order_id=row.order_id,
        order_reference=row.order_reference,
        customer_id=row.customer_id,
        customer_firstname=row.customer_firstname,
        customer_lastname=row.customer_lastname,
        customer_email=row.customer_email,
        created_date=row.created_date,
    )


@app.get("/api/v1/payments")
async def list_payments(
    session: SessionDep,
    order_reference: Annotated[str | None, Query(alias="orderReference")] = None,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> list[PaymentResponse]:
    query = select(Payment).order_by(Payment.id)
    if order_reference is not None:
        query = query.where(Payment.order_reference == order_reference)
    if customer_id is not None:
        query = query.where(Payment.customer_id == customer_id)
    return [_to_response(row) for row in (await session.scalars(query)).all()]


@app.get("/api/v1/payments/{payment_id}")
async def get_payment(payment_id: int, session: SessionDep) -> PaymentResponse:
    row = await session.get(Payment, payment_id) if in_db_range(payment_id) else None
    if row is None:
        raise ApiError(404, f"No payment found with the provided ID: {payment_id}")
    return _to_response(row)
