"""What the order service's routes and background tasks share: DB, clients, breaker, tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from services.common.breaker import CircuitBreaker
from services.common.db import Database, DatabaseUnavailable, is_unavailable
from services.order.models import Order
from services.order.settings import OrderSettings
from services.order.upstreams import UpstreamRejected, Upstreams

log = structlog.get_logger()


@dataclass
class OrderRuntime:
    db: Database
    upstreams: Upstreams
    settings: OrderSettings
    breaker: CircuitBreaker = field(init=False)
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(
            "payment",
            self.settings.breaker_config(),
            # A 4xx is payment's answer, not its failure.
            is_failure=lambda exc: not isinstance(exc, UpstreamRejected),
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A short session on the order database (`DatabaseUnavailable` while not set up)."""
        if not self.db.ready:
            raise DatabaseUnavailable(f"database {self.db.name} is not ready: {self.db.last_error}")
        async with self.db.sessionmaker() as session:
            yield session

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def compensate(self, reference: str, why: str, *, unless_saved: bool = False) -> None:
        """Give back the stock bought for `reference`, in the background (idempotent).

        With `unless_saved` it first waits `compensation_delay` and cancels only if no order
        with that reference exists by then: a client retrying the same reference meanwhile
        reuses the purchase (the key replays it) instead of finding it cancelled.
        """

        async def cancel() -> None:
            if unless_saved and await self._saved_after_delay(reference):
                log.info("purchase kept: the order was saved by a retry", reference=reference)
                return
            try:
                await self.upstreams.cancel_purchase(reference)
            except Exception as exc:  # noqa: BLE001 - logged; a later replay cancels again
                if isinstance(exc, UpstreamRejected) and exc.status == 404:
                    log.info("nothing to cancel", reference=reference, why=why)
                else:
                    log.error("purchase cancel failed", reference=reference, error=str(exc))
            else:
                log.info("purchase cancelled", reference=reference, why=why)

        self.spawn(cancel(), f"cancel-{reference}")

    async def _saved_after_delay(self, reference: str) -> bool:
        """Whether an order `reference` exists after the delay (True if that stays unknown).

        Unknown counts as saved: leaving stock reserved is safer than giving back sold stock.
        """
        await asyncio.sleep(self.settings.compensation_delay)
        retrying = AsyncRetrying(
            stop=stop_after_delay(300), wait=wait_exponential(max=10),
            retry=retry_if_exception(is_unavailable), reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with self.session() as session:
                        found = await session.scalar(
                            select(Order.id).where(Order.reference == reference))
        except Exception as exc:  # noqa: BLE001 - database away for minutes: keep the stock
            log.error("purchase left reserved: order lookup failed", reference=reference,
                      error=str(exc).splitlines()[0])
            return True
        return found is not None

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.upstreams.close()
