"""Notification service: confirmations stored once, mailed through real SMTP, poison → DLQ."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.broker import EXCHANGE, ORDER_CONFIRMED, ORDER_QUEUE, dlq_name
from services.mailsink import read_mails, wait_for_mail
from tests.services.test_payment import payment_body

N = "/api/v1/notifications"


@pytest.fixture(scope="module")
def api(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url("notification"), timeout=10) as client:
        yield client


def publish(stack, body: Any, message_id: str, times: int = 1, raw: bytes | None = None) -> None:
    """Publish an orderConfirmation `times` times with the same message id."""

    async def run() -> None:
        connection = await aio_pika.connect(stack.env["BROKER_URL"])
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(EXCHANGE)
            for _ in range(times):
                await exchange.publish(
                    aio_pika.Message(
                        raw if raw is not None else json.dumps(body).encode(),
                        message_id=message_id, type="orderConfirmation",
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=ORDER_CONFIRMED,
                )

    asyncio.run(run())


def dead_letters(stack, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in `queue`'s DLQ (requeued, so they stay)."""

    async def run() -> list:
        connection = await aio_pika.connect(stack.env["BROKER_URL"])
        async with connection:
            channel = await connection.channel()
            dlq = await channel.get_queue(dlq_name(queue))
            found = []
            while (message := await dlq.get(fail=False, no_ack=False)) is not None:
                found.append(message)
            for message in found:
                await message.nack(requeue=True)
            return found

    return asyncio.run(run())


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def order_confirmation(reference: str) -> dict:
    return {
        "orderReference": reference,
        "totalAmount": 59.98,
        "paymentMethod": "PAYPAL",
        "customer": {"id": "c-9", "firstname": "Alan", "lastname": "Turing",
                     "email": "alan@example.com"},
        "products": [{"productId": 3, "name": "Mouse", "description": "m", "price": 29.99,
                      "quantity": 2}],
    }


def mail_for(stack, reference: str, timeout: float = 5.0):
    """The sink's mail about order `reference` (None if none arrives within `timeout`)."""
    return wait_for_mail(
        stack.var_dir / "mail", lambda m: m.header("X-Order-Reference") == reference, timeout
    )


def by_reference(api: httpx.Client, reference: str) -> list[dict]:
    return api.get(N, params={"orderReference": reference}).json()


def test_payment_confirmation_is_stored_and_mailed(stack, api: httpx.Client) -> None:
    body = payment_body()
    reference = body["orderReference"]
    assert httpx.post(f"{stack.url('payment')}/api/v1/payments", json=body).status_code == 200
    stored = eventually(lambda: by_reference(api, reference))
    assert len(stored) == 1, stored
    assert stored[0]["type"] == "PAYMENT_CONFIRMATION"
    assert stored[0]["paymentConfirmation"]["amount"] == 129.98
    mail = mail_for(stack, reference)
    assert mail is not None, "no mail in the sink within 5 s"
    assert mail.recipients == ("grace@example.com",)
    assert mail.subject.startswith("Payment successfully processed")
    assert eventually(lambda: by_reference(api, reference)[0]["emailSent"])


def test_order_confirmation_is_stored_once_per_message_id(stack, api: httpx.Client) -> None:
    reference = f"ORD-{uuid.uuid4().hex[:10]}"
    publish(stack, order_confirmation(reference), str(uuid.uuid4()), times=3)
    other = f"ORD-{uuid.uuid4().hex[:10]}"  # published after: once it is in, the 3 were handled
    publish(stack, order_confirmation(other), str(uuid.uuid4()))
    assert eventually(lambda: by_reference(api, other))
    assert mail_for(stack, other)
    stored = by_reference(api, reference)
    assert len(stored) == 1 and stored[0]["type"] == "ORDER_CONFIRMATION"
    assert stored[0]["orderConfirmation"]["products"][0]["name"] == "Mouse"
    mails = [m for m in read_mails(stack.var_dir / "mail")
             if m.header("X-Order-Reference") == reference]
    assert len(mails) == 1 and "Mouse" in mails[0].body
    typed = api.get(N, params={"type": "ORDER_CONFIRMATION"}).json()
    assert {n["type"] for n in typed} == {"ORDER_CONFIRMATION"}


@pytest.mark.parametrize(
    "raw", [b"not json at all", json.dumps({"orderReference": "X", "customer": {}}).encode()]
)
def test_poison_message_is_dead_lettered_after_n_attempts(stack, api: httpx.Client,
                                                         raw: bytes) -> None:
    message_id = str(uuid.uuid4())
    publish(stack, None, message_id, raw=raw)

    def dead() -> list:
        return [m for m in dead_letters(stack, ORDER_QUEUE) if m.message_id == message_id]

    found = eventually(dead, timeout=10)
    assert len(found) == 1, "the poison message did not reach the DLQ"
    assert found[0].headers["x-attempts"] == stack.settings.broker_max_attempts - 1
    assert found[0].body == raw
    assert by_reference(api, "X") == []
    metrics = httpx.get(f"{stack.url('notification')}/metrics").text
    assert 'outcome="dead",queue="notification.order-topic"' in metrics
    assert 'queue_depth{queue="notification.order-topic.dlq"}' in metrics


def test_confirmations_wait_in_the_queue_while_notification_is_down(
    stack, api: httpx.Client
) -> None:
    references = [f"ORD-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    stack.stop("notification")
    try:
        for reference in references:
            publish(stack, order_confirmation(reference), str(uuid.uuid4()))
    finally:
        stack.start("notification")
    assert eventually(lambda: all(len(by_reference(api, r)) == 1 for r in references), 10)
