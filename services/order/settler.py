"""The settler: pays orders left `PAYMENT_PENDING` once the payment breaker lets calls through.

It also picks up `CREATED` orders older than `stale_created_seconds` (the process or the
database failed between saving the order and recording its payment). Payment is idempotent by
order reference, so paying again never charges twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import and_, or_, select

from services.common.breaker import BreakerState
from services.order.models import Order, OrderStatus
from services.order.placement import PAYMENT_DOWN, pay
from services.order.runtime import OrderRuntime

log = structlog.get_logger()


async def unsettled(rt: OrderRuntime) -> list[Order]:
    stale = datetime.now(UTC) - timedelta(seconds=rt.settings.stale_created_seconds)
    async with rt.session() as session:
        return list((await session.scalars(
            select(Order).where(or_(
                Order.status == OrderStatus.PAYMENT_PENDING,
                and_(Order.status == OrderStatus.CREATED, Order.created_date < stale),
            )).order_by(Order.id).limit(rt.settings.settle_batch)
        )).all())


async def _settle(rt: OrderRuntime, order: Order) -> bool:
    """Pay one order; False when payment is still down (the order stays pending)."""
    try:
        answer = await pay(rt, order)
    except PAYMENT_DOWN:
        return False
    except Exception as exc:  # noqa: BLE001 - e.g. 402 rejection: recorded by pay()
        log.info("order not settled", order_id=order.id, error=str(exc).splitlines()[0])
        return True
    if answer.status != 200:
        return False  # pay() kept it pending: wait for the breaker
    log.info("pending order settled", order_id=order.id, reference=order.reference)
    return True


async def settle_once(rt: OrderRuntime) -> int:
    """Pay what is unsettled until payment fails again; the number of orders handled.

    The first order is the probe (it may be the half-open breaker's trial call); the rest
    go `settle_concurrency` at a time.
    """
    if rt.breaker.state is BreakerState.OPEN and rt.breaker.retry_after() > 0:
        return 0
    orders = await unsettled(rt)
    if not orders or not await _settle(rt, orders[0]):
        return 0
    done, width = 1, rt.settings.settle_concurrency
    for start in range(1, len(orders), width):
        outcomes = await asyncio.gather(*(_settle(rt, o) for o in orders[start:start + width]))
        done += sum(outcomes)
        if not all(outcomes):
            break
    return done


async def run_settler(rt: OrderRuntime) -> None:
    while True:
        await asyncio.sleep(rt.settings.settle_interval)
        try:
            await settle_once(rt)
        except Exception as exc:  # noqa: BLE001 - DB down: try again on the next tick
            log.warning("settler round failed", error=str(exc).splitlines()[0])
