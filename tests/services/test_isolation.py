"""Stacks side by side: a RabbitMQ vhost each, and pools that fit PostgreSQL (real servers)."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest

from services.common.settings import Settings
from services.isolation import (
    IsolationError,
    check_connections,
    connection_shortfall,
    ensure_vhost,
    remove_vhost_if_idle,
    vhost_of,
)
from services.stack import Stack
from tests.fixtures.stack import session_offset


def test_each_stack_gets_its_own_vhost(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("BROKER_URL", raising=False)
    urls = {Stack({"SHOP_PORT_OFFSET": str(offset), "SHOP_DB_PREFIX": prefix,
                   "SHOP_VAR_DIR": str(tmp_path / f"{prefix}{offset}")}).env["BROKER_URL"]
            for offset, prefix in [(0, "shop_"), (3000, "shop_"), (3000, "t3000_")]}  # fmt: skip
    assert {vhost_of(u) for u in urls} == {"shop_0", "shop_3000", "t3000_3000"}
    given = Stack({"BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/mine",
                   "SHOP_VAR_DIR": str(tmp_path / "given")})  # fmt: skip
    assert not given.own_vhost and vhost_of(given.env["BROKER_URL"]) == "mine"


def test_connection_shortfall_names_the_numbers() -> None:
    assert connection_shortfall(600, 3, 100, 5, 6) is None
    reason = connection_shortfall(100, 3, 80, 5, 6)
    assert reason is not None
    assert "room for 17 more" in reason and "30 (5 services × 6)" in reason


def test_up_refuses_pools_postgresql_cannot_hold() -> None:
    check_connections(Settings(), 5)  # the default pools fit this machine's server
    with pytest.raises(IsolationError, match="max_connections"):
        check_connections(Settings(database_pool_size=1000), 5)


def test_a_vhost_is_created_and_removed_once_idle() -> None:
    url = f"amqp://guest:guest@127.0.0.1:5672/t{session_offset()}_iso"
    ensure_vhost(url)

    async def publish_one() -> None:
        connection = await aio_pika.connect(url, timeout=5)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("notification.order-topic", durable=True)
            await queue.purge()  # left by an interrupted run
            await channel.default_exchange.publish(aio_pika.Message(b"x"),
                                                   "notification.order-topic")

    asyncio.run(publish_one())
    assert "1 message(s) still queued" in (remove_vhost_if_idle(url) or "")

    async def drain() -> None:
        connection = await aio_pika.connect(url, timeout=5)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("notification.order-topic", passive=True)
            await queue.purge()

    asyncio.run(drain())
    assert remove_vhost_if_idle(url) is None
    with pytest.raises(aio_pika.exceptions.AMQPError):
        asyncio.run(aio_pika.connect(url, timeout=5))
