"""Notification service: the two confirmation consumers and `GET /api/v1/notifications`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import structlog
from aio_pika.abc import AbstractIncomingMessage
from fastapi import FastAPI, Query
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from services.common import faults, metrics
from services.common.app import create_app
from services.common.broker import ORDER_QUEUE, PAYMENT_QUEUE, QUEUES, Requeue, dlq_name
from services.common.db import SessionDep, is_unavailable
from services.notification import mail
from services.notification.models import Base, Notification
from services.notification.schemas import (
    NotificationResponse,
    NotificationType,
    OrderConfirmation,
    PaymentConfirmation,
)

log = structlog.get_logger()
DEPTH_SECONDS = 3.0


class Consumer:
    """Store a confirmation (deduped by message id), then mail it; acked by the caller after.

    A notification counts as handled only once its mail is sent: a redelivered message whose
    row exists but whose mail is not marked sent is mailed now (a stop between storing and
    mailing loses no mail), one whose mail is marked sent is skipped (none is sent twice).
    On shutdown new deliveries are left to the broker and those in flight are finished.
    """

    def __init__(self, app: FastAPI):
        self.app = app
        self.closing = False
        self.in_flight = 0

    async def _apply_faults(self, kind: NotificationType, message: AbstractIncomingMessage) -> None:
        """Fault switches of the consumer: notificationQueueProblems sleeps 1 s per message,
        notificationMemoryLeak keeps n copies of each message body.

        See `services.common.faults`; nothing is injected unless a flag is on.
        """
        if faults.value(faults.NOTIFICATION_QUEUE_PROBLEMS, 0):
            await asyncio.sleep(1.0)
        copies = int(faults.value(faults.NOTIFICATION_MEMORY_LEAK, 0) or 0)
        faults.leak(message.body.decode(errors="replace"), copies)

    def _parse(self, kind: NotificationType, body: dict[str, Any]) -> str:
        """The recipient of a valid message; ValueError for a malformed one (a poison message)."""
        try:
            if kind is NotificationType.ORDER_CONFIRMATION:
                return str(OrderConfirmation.model_validate(body).customer.email)
            return str(PaymentConfirmation.model_validate(body).customer_email)
        except ValidationError as exc:
            raise ValueError(f"malformed {kind.value}: {exc.errors()[0]['msg']}") from exc

    async def handle(
        self, kind: NotificationType, body: dict[str, Any], message: AbstractIncomingMessage
    ) -> str:
        if self.closing:
            raise Requeue("shutting down")
        self.in_flight += 1
        try:
            return await self._handle(kind, body, message)
        finally:
            self.in_flight -= 1

    async def _handle(
        self, kind: NotificationType, body: dict[str, Any], message: AbstractIncomingMessage
    ) -> str:
        await self._apply_faults(kind, message)
        if not message.message_id:
            raise ValueError("message has no message_id")
        recipient = self._parse(kind, body)
        db = self.app.state.db
        if not db.ready:
            raise Requeue("database not ready")
        try:
            async with db.sessionmaker() as session:
                new_id = await session.scalar(
                    insert(Notification)
                    .values(
                        message_id=message.message_id,
                        type=kind.value,
                        order_reference=body["orderReference"],
                        recipient=recipient,
                        payload=body,
                    )
                    .on_conflict_do_nothing(index_elements=[Notification.message_id])
                    .returning(Notification.id)
                )
                await session.commit()
            if new_id is not None:
                log.info("notification stored", notification_type=kind.value,
                         order_reference=body["orderReference"], message_id=message.message_id)
            # shielded: a shutdown does not cut between the mail and the mark that it went
            return await asyncio.shield(self._mail_once(kind, recipient, body, message.message_id))
        except Exception as exc:
            if is_unavailable(exc):
                raise Requeue(f"database unavailable: {type(exc).__name__}") from exc
            raise

    async def _mail_once(
        self, kind: NotificationType, recipient: str, body: dict[str, Any], message_id: str
    ) -> str:
        """Mail the notification unless its mail went already or another delivery of the same
        message holds it now (row lock; if that one dies, its own redelivery mails it)."""
        async with self.app.state.db.sessionmaker() as session, session.begin():
            sent = (await session.execute(
                select(Notification.email_sent)
                .where(Notification.message_id == message_id)
                .with_for_update(skip_locked=True)
            )).scalar_one_or_none()
            if sent is None or sent:
                log.info("duplicate message skipped", message_id=message_id)
                return "duplicate"
            error = await self._send(kind, recipient, body, message_id)
            await session.execute(
                update(Notification)
                .where(Notification.message_id == message_id)
                .values(email_sent=error is None, email_error=error)
            )
        if error is not None:
            raise Requeue(f"mail not sent: {error}")
        return "ok"

    async def _send(
        self, kind: NotificationType, recipient: str, body: dict[str, Any], message_id: str
    ) -> str | None:
        """Send the mail; the error when it could not be sent (retried on redelivery)."""
        try:
            await mail.send(
                mail.build(kind.value, recipient, body, message_id),
                "127.0.0.1",
                self.app.state.settings.port("mailsink"),
            )
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("mail not sent, will retry", notification_type=kind.value,
                      order_reference=body["orderReference"], error=error)
            return error
        metrics.notifications_sent_total.labels(kind.value).inc()
        log.info("mail sent", notification_type=kind.value,
                 order_reference=body["orderReference"])
        return None

    async def drain(self, timeout: float = 8.0) -> None:
        """Take no new deliveries and wait for those in flight (their mails) to finish."""
        self.closing = True
        deadline = asyncio.get_running_loop().time() + timeout
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)


async def _watch_queue_depth(app: FastAPI) -> None:
    """Set `queue_depth{queue}` for the consumed queues and their DLQs every few seconds."""
    names = [*QUEUES, *(dlq_name(q) for q in QUEUES)]
    while True:
        for name in names:
            with contextlib.suppress(Exception):  # broker away: keep the last value
                metrics.queue_depth.labels(name).set(await app.state.broker.queue_depth(name))
        await asyncio.sleep(DEPTH_SECONDS)


async def _start(app: FastAPI) -> None:
    consumer = app.state.consumer = Consumer(app)
    for queue, kind in (
        (ORDER_QUEUE, NotificationType.ORDER_CONFIRMATION),
        (PAYMENT_QUEUE, NotificationType.PAYMENT_CONFIRMATION),
    ):
        async def handler(body: dict[str, Any], message: AbstractIncomingMessage,
                          kind: NotificationType = kind) -> str:
            return await consumer.handle(kind, body, message)

        await app.state.broker.consume(queue, handler)
    app.state.depth_task = asyncio.create_task(_watch_queue_depth(app))


async def _stop(app: FastAPI) -> None:
    app.state.depth_task.cancel()
    await app.state.consumer.drain()


app = create_app(
    "notification", metadata=Base.metadata, broker=True, on_startup=[_start], on_shutdown=[_stop]
)


def _to_response(row: Notification) -> NotificationResponse:
    key = "order_confirmation" if row.type == "ORDER_CONFIRMATION" else "payment_confirmation"
    return NotificationResponse(
        id=row.id,
        message_id=row.message_id,
        type=NotificationType(row.type),
        order_reference=row.order_reference,
        recipient=row.recipient,
        notification_date=row.notification_date,
        email_sent=row.email_sent,
        **{key: row.payload},
    )


@app.get("/api/v1/notifications", response_model_exclude_none=True)
async def list_notifications(
    session: SessionDep,
    order_reference: Annotated[str | None, Query(alias="orderReference")] = None,
    type_: Annotated[NotificationType | None, Query(alias="type")] = None,
) -> list[NotificationResponse]:
    """Stored notifications, oldest first; filter by order reference and/or type."""
    query = select(Notification).order_by(Notification.id)
    if order_reference is not None:
        query = query.where(Notification.order_reference == order_reference)
    if type_ is not None:
        query = query.where(Notification.type == type_.value)
    return [_to_response(row) for row in (await session.scalars(query)).all()]
