"""Order service routes (`/api/v1/orders`, `/api/v1/order-lines`) and background tasks."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.common.app import create_app
from services.common.db import SessionDep, is_unavailable
from services.common.errors import ApiError
from services.common.schemas import in_db_range
from services.order.models import Base, Order, OrderLine
from services.order.outbox import run_relay
from services.order.placement import place_order
from services.order.runtime import OrderRuntime
from services.order.schemas import (
    REFERENCE_PATTERN,
    OrderLineResponse,
    OrderRequest,
    OrderResponse,
)
from services.order.settings import get_order_settings
from services.order.settler import run_settler
from services.order.upstreams import Upstreams, UpstreamUnavailable

log = structlog.get_logger()


async def start_runtime(app: FastAPI) -> None:
    settings = get_order_settings()
    rt = OrderRuntime(app.state.db, Upstreams(app.state.settings, settings), settings)
    rt.spawn(run_relay(rt, app.state.broker), "outbox-relay")
    rt.spawn(run_settler(rt), "payment-settler")
    app.state.runtime = rt


async def stop_runtime(app: FastAPI) -> None:
    await app.state.runtime.close()


app = create_app("order", metadata=Base.metadata, broker=True,
                 on_startup=[start_runtime], on_shutdown=[stop_runtime])


def _runtime(request: Request) -> OrderRuntime:
    return request.app.state.runtime


@app.post("/api/v1/orders", response_model=None)
async def create_order(
    body: OrderRequest,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=64, pattern=REFERENCE_PATTERN)] = None,
) -> JSONResponse:
    """Place an order: 200 + id when paid, 202 + PAYMENT_PENDING body when payment is down.

    An `Idempotency-Key` header is the order's reference when the body names none, so a retried
    POST answers with the order it made the first time instead of making a second one.
    """
    if idempotency_key is not None:
        if body.reference is not None and body.reference != idempotency_key:
            raise ApiError(400, "Idempotency-Key and reference differ",
                           {"reference": "differs from the Idempotency-Key header"})
        body = body.model_copy(update={"reference": idempotency_key})
    try:
        answer = await place_order(_runtime(request), body)
    except ApiError:
        raise
    except UpstreamUnavailable as exc:
        raise ApiError(503, f"{exc}. The order was not placed; try again shortly.") from exc
    except Exception as exc:
        if is_unavailable(exc):
            raise
        log.exception("order placement failed")
        raise ApiError(503, f"The order could not be placed ({type(exc).__name__}); "
                            "nothing was charged, try again shortly.") from exc
    return JSONResponse(answer.body, status_code=answer.status)


def _order_response(order: Order) -> dict[str, Any]:
    return OrderResponse(
        id=order.id, reference=order.reference, amount=order.total_amount,
        payment_method=order.payment_method, customer_id=order.customer_id,
        status=order.status, created_date=order.created_date,
        lines=[OrderLineResponse(id=line.id, product_id=line.product_id, quantity=line.quantity,
                                 price=line.price) for line in order.lines],
    ).model_dump(mode="json", by_alias=True)


@app.get("/api/v1/orders")
async def list_orders(
    session: SessionDep,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> list[dict[str, Any]]:
    """All orders, oldest first; `?customerId=` for one customer's history."""
    query = select(Order).order_by(Order.id)
    if customer_id:
        query = query.where(Order.customer_id == customer_id)
    return [_order_response(order) for order in (await session.scalars(query)).all()]


@app.get("/api/v1/orders/{order_id}")
async def get_order(order_id: int, session: SessionDep) -> dict[str, Any]:
    order = await session.get(Order, order_id) if in_db_range(order_id) else None
    if order is None:
        raise ApiError(404, f"No order found with the provided ID: {order_id}")
    return _order_response(order)


@app.get("/api/v1/order-lines/order/{order_id}")
async def order_lines(order_id: int, session: SessionDep) -> list[dict[str, Any]]:
    """The lines of one order (`[]` for an unknown order, as the original)."""
    if not in_db_range(order_id):
        return []
    lines = await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
    return [OrderLineResponse(id=line.id, product_id=line.product_id, quantity=line.quantity,
                              price=line.price).model_dump(mode="json", by_alias=True)
            for line in lines.all()]


@app.get("/health/breakers", include_in_schema=False)
async def breakers(request: Request) -> dict[str, Any]:
    """Circuit breaker states (also the `circuit_breaker_state` gauge on /metrics)."""
    return {"payment": _runtime(request).breaker.snapshot()}
