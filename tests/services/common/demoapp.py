"""A tiny shop-style service built with `create_app`, served by uvicorn in the module tests.

`GET /api/v1/items/{item_id}` logs, reads its database, calls itself as peer `echo` through
`make_client` and publishes `order.confirmed`; the consumer of `notification.order-topic`
logs what it received, so one request spans HTTP, SQL and the broker hop.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from fastapi import FastAPI, Request
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.app import create_app
from services.common.broker import ORDER_CONFIRMED, ORDER_QUEUE
from services.common.db import SessionDep
from services.common.http import make_client

log = structlog.get_logger()
SERVICE = "order"  # a name settings knows (ports); the demo stands in for it


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


async def _on_order(body: dict[str, Any], _: object) -> str:
    log.info("order message consumed", reference=body.get("reference"))
    return "ok"


async def _start(app: FastAPI) -> None:
    app.state.peer = make_client("echo", os.environ["DEMO_SELF_URL"], 5.0)
    await app.state.broker.consume(ORDER_QUEUE, _on_order)


async def _stop(app: FastAPI) -> None:
    await app.state.peer.aclose()


app = create_app(
    SERVICE, metadata=Base.metadata, broker=True, on_startup=[_start], on_shutdown=[_stop]
)


@app.get("/api/v1/items/{item_id}")
async def read_item(item_id: int, request: Request, session: SessionDep) -> dict[str, Any]:
    log.info("reading item", item_id=item_id, email="buyer@example.com")
    found = (await session.execute(select(Item).where(Item.id == item_id))).scalar_one_or_none()
    echo = (await request.app.state.peer.get("/api/v1/echo", params={"q": item_id})).json()
    await request.app.state.broker.publish(ORDER_CONFIRMED, "orderConfirmation",
                                           {"reference": f"ref-{item_id}"})
    return {"id": item_id, "found": found is not None, "echo": echo}


@app.get("/api/v1/echo")
async def echo(q: str) -> dict[str, str]:
    log.info("echo", q=q)
    return {"q": q}
