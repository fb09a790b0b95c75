"""RabbitMQ messaging of the shop (aio-pika): topology, confirmed publishing, consumers.

Topology: durable topic exchange `ecommerce`; durable queues named after the original Kafka
topics, each dead-lettering into `<queue>.dlq` through the direct exchange `ecommerce.dlx`.
A consumer acks only after its handler returns (i.e. after the handler's DB commit); a
handler that fails is retried by re-publishing with an attempt counter, and dead-lettered
after `max_attempts`. A handler may raise `Requeue` for a transient outage (DB down): the
message goes back without using up an attempt.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    ExchangeType,
)

from services.common import metrics

log = structlog.get_logger()

EXCHANGE = "ecommerce"
DLX = "ecommerce.dlx"
ORDER_CONFIRMED = "order.confirmed"
PAYMENT_CONFIRMED = "payment.confirmed"
PAYMENT_REQUESTED = "payment.requested"
ORDER_QUEUE = "notification.order-topic"
PAYMENT_QUEUE = "notification.payment-topic"
# queue -> routing key bound on the topic exchange
QUEUES: dict[str, str] = {ORDER_QUEUE: ORDER_CONFIRMED, PAYMENT_QUEUE: PAYMENT_CONFIRMED}
ATTEMPTS_HEADER = "x-attempts"
RETRY_SECONDS = 2.0
PREFETCH = 10


class BrokerUnavailable(Exception):
    """RabbitMQ cannot be reached or did not confirm a publish."""


class Requeue(Exception):
    """Raised by a handler for a transient failure: put the message back, attempt not counted."""


Handler = Callable[[dict[str, Any], AbstractIncomingMessage], Awaitable[str | None]]


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


async def declare_topology(channel: aio_pika.abc.AbstractChannel) -> aio_pika.abc.AbstractExchange:
    """Declare exchange, queues, bindings and dead-letter queues (idempotent)."""
    exchange = await channel.declare_exchange(EXCHANGE, ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(DLX, ExchangeType.DIRECT, durable=True)
    for queue_name, routing_key in QUEUES.items():
        dead = await channel.declare_queue(dlq_name(queue_name), durable=True)
        await dead.bind(dlx, routing_key=queue_name)
        queue = await channel.declare_queue(
            queue_name,
            durable=True,
            arguments={"x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": queue_name},
        )
        await queue.bind(exchange, routing_key=routing_key)
    return exchange


class Broker:
    """One robust connection per process; consumers are restored by aio-pika on reconnect."""

    def __init__(self, url: str, service: str, max_attempts: int = 3):
        self.url = url
        self.service = service
        self.max_attempts = max_attempts
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        self.last_error: str | None = "starting"
        self._consumers: list[tuple[str, Handler]] = []
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Connect now if RabbitMQ answers, else keep trying in the background."""
        if not await self._try_connect():
            self._task = asyncio.create_task(self._connect_loop(), name="broker-connect")

    async def _connect_loop(self) -> None:
        while not await self._try_connect():
            await asyncio.sleep(RETRY_SECONDS)

    async def _try_connect(self) -> bool:
        try:
            connection = await aio_pika.connect_robust(self.url, timeout=5)
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=PREFETCH)
            self.exchange = await declare_topology(channel)
        except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
            log.warning("broker connect failed", error=self.last_error)
            return False
        self.connection, self.channel, self.last_error = connection, channel, None
        for queue, handler in self._consumers:
            await self._start_consumer(queue, handler)
        self._connected.set()
        log.info("broker connected")
        return True

    def ping(self) -> str | None:
        """None when the connection is open, else why not."""
        if self.connection is None:
            return f"not connected ({self.last_error})"
        if self.connection.is_closed or not self.connection.connected.is_set():
            return "connection lost, reconnecting"
        return None

    async def publish(
        self,
        routing_key: str,
        message_type: str,
        payload: dict[str, Any],
        *,
        message_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Publish a persistent JSON message and wait for the broker's confirm; its id back."""
        if self.exchange is None or self.ping() is not None:
            raise BrokerUnavailable(f"broker unavailable: {self.ping()}")
        message_id = message_id or str(uuid.uuid4())
        message = aio_pika.Message(
            json.dumps(payload, default=str).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            type=message_type,
            app_id=self.service,
            headers=headers or {},
        )
        try:
            async with asyncio.timeout(5):
                await self.exchange.publish(message, routing_key=routing_key)
        except Exception as exc:
            raise BrokerUnavailable(f"publish to {routing_key} not confirmed: {exc!r}") from exc
        metrics.messages_published_total.labels(self.service, routing_key).inc()
        log.info("message published", routing_key=routing_key, message_id=message_id,
                 message_type=message_type)
        return message_id

    async def consume(self, queue: str, handler: Handler) -> None:
        """Run `handler(body, message)` for each message of `queue` (now or once connected).

        The handler returns an outcome label (`ok` by default, `duplicate` when it found the
        message already processed); the message is acked after it returns.
        """
        self._consumers.append((queue, handler))
        if self.channel is not None:
            await self._start_consumer(queue, handler)

    async def _start_consumer(self, queue_name: str, handler: Handler) -> None:
        assert self.channel is not None
        queue = await self.channel.get_queue(queue_name, ensure=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._handle(queue_name, handler, message)

        await queue.consume(on_message)
        log.info("consuming", queue=queue_name)

    async def _handle(
        self, queue: str, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        bound = log.bind(queue=queue, message_id=message.message_id)
        try:
            body = json.loads(message.body)
            if not isinstance(body, dict):
                raise ValueError("message body is not a JSON object")
            outcome = await handler(body, message) or "ok"
        except Requeue as exc:
            bound.warning("message requeued", reason=str(exc))
            await asyncio.sleep(RETRY_SECONDS)
            await message.nack(requeue=True)
            outcome = "retry"
        except Exception as exc:  # noqa: BLE001 - a failing handler must not kill the consumer
            outcome = await self._retry_or_dead_letter(queue, message, exc)
        else:
            await message.ack()
        metrics.messages_consumed_total.labels(self.service, queue, outcome).inc()

    async def _retry_or_dead_letter(
        self, queue: str, message: AbstractIncomingMessage, exc: Exception
    ) -> str:
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        error = f"{type(exc).__name__}: {exc}"
        if attempts >= self.max_attempts:
            log.error("message dead-lettered", queue=queue, message_id=message.message_id,
                      attempts=attempts, error=error)
            await message.reject(requeue=False)  # the queue's DLX routes it to <queue>.dlq
            return "dead"
        log.warning("message failed, retrying", queue=queue, message_id=message.message_id,
                    attempts=attempts, error=error)
        assert self.channel is not None
        retry = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            app_id=message.app_id,
            headers={**(message.headers or {}), ATTEMPTS_HEADER: attempts, "x-last-error": error},
        )
        try:
            await self.channel.default_exchange.publish(retry, routing_key=queue)
        except Exception:  # noqa: BLE001 - could not re-publish: let RabbitMQ redeliver it
            await message.nack(requeue=True)
            return "retry"
        await message.ack()
        return "retry"

    async def queue_depth(self, queue: str) -> int:
        """Messages ready in `queue` (passive declare)."""
        if self.channel is None:
            raise BrokerUnavailable("broker unavailable")
        declared = await self.channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.connection is not None:
            await self.connection.close()
