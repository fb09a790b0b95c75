"""What keeps stacks on one machine apart: a RabbitMQ vhost each, and PostgreSQL room for all.

A stack whose environment names no `BROKER_URL` gets vhost `<SHOP_DB_PREFIX><SHOP_PORT_OFFSET>`,
created by `shop up` and removed by `shop down` once its queues are empty (messages left in
them are kept for the next `up`). Before starting services `shop up` checks that PostgreSQL
can still open every connection their pools may ask for, and refuses in one message if not.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import psycopg

from services.common.broker import QUEUES, dlq_name
from services.common.settings import Settings

BROKER_BASE = "amqp://guest:guest@127.0.0.1:5672/"
#: services with a database pool of their own (the gateway, collector and mailsink have none)
DB_SERVICES = ("customer", "product", "order", "payment", "notification")


class IsolationError(RuntimeError):
    """The stack cannot get its own vhost or enough database connections (one-line reason)."""


def stack_vhost(settings: Settings) -> str:
    """The vhost of a stack: its database prefix and port offset (`shop_0`, `t12000_…`)."""
    return f"{settings.shop_db_prefix}{settings.shop_port_offset}"


def broker_url_for(vhost: str) -> str:
    return BROKER_BASE + quote(vhost, safe="")


def vhost_of(url: str) -> str:
    """The vhost a broker URL names (`/` when its path is empty)."""
    path = urlsplit(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("rabbitmqctl") is None:
        raise IsolationError("rabbitmqctl not found: it creates and removes the stack's vhost")
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                          timeout=60)


async def _reachable(url: str) -> bool:
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except (aio_pika.exceptions.AMQPError, ConnectionError, OSError):
        return False
    await connection.close()
    return True


def ensure_vhost(url: str) -> None:
    """Create the URL's vhost (guest with full rights) unless it already answers."""
    vhost = vhost_of(url)
    if vhost == "/" or asyncio.run(_reachable(url)):
        return
    grant = ("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    for args in (("add_vhost", vhost), grant):
        done = _rabbitmqctl(*args)
        if done.returncode != 0 and "already_exists" not in done.stderr + done.stdout:
            raise IsolationError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")


async def _messages_left(url: str) -> int | None:
    """Messages in the shop's queues of the vhost (None: the vhost does not answer)."""
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except (aio_pika.exceptions.AMQPError, ConnectionError, OSError):
        return None
    left = 0
    async with connection:
        for name in [*QUEUES, *(dlq_name(q) for q in QUEUES)]:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                queue = await channel.declare_queue(name, passive=True)
                left += queue.declaration_result.message_count or 0
    return left


def remove_vhost_if_idle(url: str) -> str | None:
    """Delete the URL's vhost when its queues are empty; else say why it stays."""
    vhost = vhost_of(url)
    if vhost == "/":
        return None
    left = asyncio.run(_messages_left(url))
    if left is None:
        return None  # already gone, or RabbitMQ is down: nothing to remove now
    if left:
        return f"vhost {vhost} kept: {left} message(s) still queued"
    done = _rabbitmqctl("delete_vhost", vhost)
    if done.returncode != 0 and "not_found" not in done.stderr + done.stdout:
        return f"vhost {vhost} not removed: {done.stderr.strip()}"
    return None


def connection_shortfall(max_connections: int, reserved: int, in_use: int, services: int,
                         per_service: int) -> str | None:
    """Why `services` pools of `per_service` connections do not fit, or None when they do."""
    need = services * per_service
    room = max_connections - reserved - in_use
    if need <= room:
        return None
    return (f"PostgreSQL has room for {max(room, 0)} more connections (max_connections "
            f"{max_connections}, {reserved} reserved, {in_use} in use) but this stack may open "
            f"{need} ({services} services × {per_service}): stop another stack, raise "
            f"max_connections, or lower DATABASE_POOL_SIZE/DATABASE_MAX_OVERFLOW")


def check_connections(settings: Settings, services: int) -> None:
    """Raise `IsolationError` when PostgreSQL cannot hold the stack's pools (unreachable: the
    services report that themselves)."""
    if not services:
        return
    try:
        with psycopg.connect(dbname="postgres", host=settings.database_host,
                             port=settings.database_port, user=settings.database_user,
                             password=settings.database_password or None,
                             connect_timeout=3) as conn:
            settings_rows = dict(conn.execute(
                "SELECT name, setting::int FROM pg_settings WHERE name IN "
                "('max_connections', 'superuser_reserved_connections', "
                "'reserved_connections')").fetchall())
            (in_use,) = conn.execute("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE backend_type = 'client backend'").fetchone()
    except psycopg.Error:
        return
    reserved = settings_rows.get("superuser_reserved_connections", 0) + settings_rows.get(
        "reserved_connections", 0)
    # +1 a service: its start-up connection that creates the database
    per_service = settings.database_pool_size + settings.database_max_overflow + 1
    reason = connection_shortfall(settings_rows["max_connections"], reserved, in_use - 1,
                                  services, per_service)
    if reason:
        raise IsolationError(reason)
