"""The outbox relay: publishes committed messages to RabbitMQ, then marks them sent.

At least once: a crash between the broker's confirm and the commit re-publishes the row with
the same `message_id`, which the consumer dedupes. Each row is published in the trace context
stored with it, so the consumer's span joins the order's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from sqlalchemy import select

from services.common import faults, telemetry
from services.common.broker import Broker
from services.order.models import OutboxMessage
from services.order.runtime import OrderRuntime

log = structlog.get_logger()
BATCH = 100


async def relay_once(rt: OrderRuntime, broker: Broker) -> int:
    """Publish every unsent row (oldest first); the number published."""
    sent = 0
    while True:
        async with rt.session() as session:
            rows = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                .order_by(OutboxMessage.id).limit(BATCH).with_for_update(skip_locked=True)
            )).all()
            if not rows:
                return sent
            for row in rows:
                # notificationQueueProblems: extra copies, same id (the consumer dedupes them)
                copies = 1 + int(faults.value(faults.NOTIFICATION_QUEUE_PROBLEMS, 0) or 0)
                with telemetry.attached(row.headers):
                    for _ in range(copies):
                        await broker.publish(row.routing_key, row.message_type, row.payload,
                                             message_id=row.message_id)
                row.sent_at = datetime.now(UTC)
                sent += 1
            await session.commit()


async def run_relay(rt: OrderRuntime, broker: Broker) -> None:
    """Relay forever: on each new order, and every `outbox_poll_interval` seconds."""
    failing = False
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rt.outbox_ready.wait(), rt.settings.outbox_poll_interval)
        rt.outbox_ready.clear()
        try:
            await relay_once(rt, broker)
        except Exception as exc:  # noqa: BLE001 - broker or DB down: retry on the next tick
            if not failing:
                log.warning("outbox relay paused", error=str(exc).splitlines()[0])
            failing = True
        else:
            if failing:
                log.info("outbox relay resumed")
            failing = False
