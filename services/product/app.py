"""Product service routes (`/api/v1/products`): catalogue, purchase, compensating cancel."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import Body, Header, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from starlette.middleware.base import RequestResponseEndpoint

from services.common import faults
from services.common.app import create_app
from services.common.db import SessionDep
from services.common.errors import ApiError
from services.common.schemas import MAX_DB_ID, in_db_range
from services.product.models import Base, Category, Product, Purchase
from services.product.schemas import (
    CancelResponse,
    ProductRequest,
    ProductResponse,
    PurchaseRequest,
    PurchaseResponse,
)

log = structlog.get_logger()
CATALOG = Path(__file__).with_name("catalog.json")
PURCHASED, CANCELLED = "PURCHASED", "CANCELLED"


async def seed_catalog(session: AsyncSession) -> None:
    """Load `catalog.json` into an empty database (5 categories, 25 products)."""
    if await session.scalar(select(func.count()).select_from(Category)):
        return
    for entry in json.loads(CATALOG.read_text()):
        category = Category(name=entry["name"], description=entry["description"])
        session.add(category)
        for item in entry["products"]:
            session.add(Product(
                name=item["name"],
                description=item["description"],
                available_quantity=float(item["availableQuantity"]),
                price=item["price"],
                category=category,
            ))
    log.info("catalog seeded")


app = create_app("product", metadata=Base.metadata, db_setup=seed_catalog)


@app.middleware("http")
async def high_cpu(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """productHighCpu: burn CPU on every API request while the flag is on."""
    if request.url.path.startswith("/api/"):
        faults.burn_cpu(float(faults.value(faults.PRODUCT_HIGH_CPU, 0) or 0))
    return await call_next(request)


def _fail_if_flagged(product_ids: list[int]) -> None:
    """productCatalogFailure: a 500 for the targeted product while the flag is on."""
    for pid in product_ids:
        if faults.value(faults.PRODUCT_CATALOG_FAILURE, False, productId=str(pid)):
            raise ApiError(500, f"Product Catalog Fail Feature Flag Enabled (product {pid})")


def _to_response(row: Product) -> ProductResponse:
    return ProductResponse(
        id=row.id,
        name=row.name,
        description=row.description,
        available_quantity=row.available_quantity,
        price=float(row.price),
        category_id=row.category_id,
        category_name=row.category.name,
        category_description=row.category.description,
    )


@app.post("/api/v1/products")
async def create_product(body: ProductRequest, session: SessionDep) -> int:
    """Add a product to the catalogue; its new id back (the request's `id` is ignored)."""
    if await session.get(Category, body.category_id) is None:
        raise ApiError(
            400, f"No category found with ID:: {body.category_id}",
            {"categoryId": f"unknown category {body.category_id}"},
        )
    row = Product(
        name=body.name,
        description=body.description,
        available_quantity=body.available_quantity,
        price=body.price,
        category_id=body.category_id,
    )
    session.add(row)
    await session.commit()
    log.info("product created", product_id=row.id)
    return row.id


@app.get("/api/v1/products")
async def list_products(
    session: SessionDep,
    response: Response,
    page: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=1, le=500)] = 100,
    category_id: Annotated[int | None, Query(alias="categoryId", ge=1, le=MAX_DB_ID)] = None,
) -> list[ProductResponse]:
    """A page of products ordered by id; the total count is in `X-Total-Count`."""
    query = select(Product)
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    response.headers["X-Total-Count"] = str(total)
    rows = await session.scalars(query.order_by(Product.id).offset(page * size).limit(size))
    return [_to_response(row) for row in rows.unique().all()]


@app.get("/api/v1/products/{product_id}")
async def get_product(product_id: int, session: SessionDep) -> ProductResponse:
    _fail_if_flagged([product_id])
    row = await session.get(Product, product_id) if in_db_range(product_id) else None
    if row is None:
        raise ApiError(404, f"Product not found with ID:: {product_id}")
    return _to_response(row)


def _merge(items: list[PurchaseRequest]) -> dict[int, float]:
    """Quantities by product id (duplicates summed), in id order: the row-lock order."""
    merged: dict[int, float] = defaultdict(float)
    for item in items:
        merged[item.product_id] += item.quantity
    return dict(sorted(merged.items()))


async def _lock_products(session: AsyncSession, ids: list[int]) -> dict[int, Product]:
    """`SELECT … FOR UPDATE` the products, always in id order so purchases never deadlock."""
    query = (
        select(Product)
        .where(Product.id.in_(ids))
        .order_by(Product.id)
        .options(lazyload(Product.category))
        .with_for_update()
    )
    return {row.id: row for row in (await session.scalars(query)).all()}


async def _replay(session: AsyncSession, key: str, lines: list[dict]) -> list[dict] | None:
    """The stored answer of an earlier purchase with Idempotency-Key `key`, if any.

    A cancelled one (its order was not placed: the stock went back) is forgotten, so the
    order's retry under the same reference purchases again.
    """
    earlier = await session.scalar(select(Purchase).where(Purchase.order_reference == key))
    if earlier is None:
        return None
    if earlier.lines != lines:
        raise ApiError(
            409, f"Idempotency-Key {key} was already used for a different purchase",
            {"Idempotency-Key": "reused with different products or quantities"},
        )
    if earlier.status == CANCELLED:
        log.info("cancelled purchase bought again", order_reference=key)
        await session.delete(earlier)
        await session.flush()
        return None
    log.info("purchase replayed", order_reference=key)
    return earlier.response


@app.post("/api/v1/products/purchase")
async def purchase_products(
    items: Annotated[list[PurchaseRequest], Body(min_length=1)],
    session: SessionDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=100)
    ] = None,
) -> list[PurchaseResponse]:
    """Decrement stock of every product in one transaction, or of none.

    Unknown products → 404, insufficient stock → 409, both naming the product. With an
    `Idempotency-Key` (the order reference) a replay answers as the first call did.
    """
    wanted = _merge(items)
    _fail_if_flagged(list(wanted))
    lines = [{"productId": pid, "quantity": qty} for pid, qty in wanted.items()]
    try:
        async with session.begin():
            products = await _lock_products(session, list(wanted))
            if idempotency_key and (stored := await _replay(session, idempotency_key, lines)):
                return [PurchaseResponse.model_validate(r) for r in stored]
            missing = [pid for pid in wanted if pid not in products]
            if missing:
                ids = ", ".join(map(str, missing))
                raise ApiError(404, f"Product not found with ID:: {ids}", {"productId": ids})
            answer = []
            for pid, qty in wanted.items():
                product = products[pid]
                if product.available_quantity < qty:
                    raise ApiError(
                        409,
                        f"Insufficient stock quantity for product with ID:: {pid} "
                        f"({product.name}: {product.available_quantity:g} available, "
                        f"{qty:g} requested)",
                        {"quantity": f"product {pid} has {product.available_quantity:g} left"},
                    )
                product.available_quantity -= qty
                answer.append(PurchaseResponse(
                    product_id=pid, name=product.name, description=product.description,
                    price=float(product.price), quantity=qty,
                ))
            session.add(Purchase(
                order_reference=idempotency_key,
                lines=lines,
                response=[a.model_dump(by_alias=True) for a in answer],
            ))
    except IntegrityError:
        # the same key committed concurrently (for other products, so no shared row lock)
        async with session.begin():
            stored = await _replay(session, idempotency_key or "", lines)
        if stored is None:
            raise
        return [PurchaseResponse.model_validate(r) for r in stored]
    log.info("products purchased", order_reference=idempotency_key, lines=len(answer))
    return answer


@app.post("/api/v1/products/purchase/{order_reference}/cancel")
async def cancel_purchase(order_reference: str, session: SessionDep) -> CancelResponse:
    """Saga compensation: give back the stock of that order's purchase (idempotent)."""
    async with session.begin():
        row = await session.scalar(
            select(Purchase).where(Purchase.order_reference == order_reference).with_for_update()
        )
        if row is None:
            raise ApiError(404, f"No purchase found for order reference {order_reference}")
        if row.status != CANCELLED:
            products = await _lock_products(session, [line["productId"] for line in row.lines])
            for line in row.lines:
                products[line["productId"]].available_quantity += line["quantity"]
            row.status, row.cancelled_date = CANCELLED, datetime.now(UTC)
            log.info("purchase cancelled", order_reference=order_reference)
        products_out = [PurchaseResponse.model_validate(r) for r in row.response]
    return CancelResponse(order_reference=order_reference, status=CANCELLED, products=products_out)
