"""Order request/response bodies (the original's camelCase JSON fields, plus ★ additions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from services.common.schemas import BodyId, CamelModel, PaymentMethod

REFERENCE_PATTERN = r"^[A-Za-z0-9._:-]+$"
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class PurchaseRequest(CamelModel):
    product_id: BodyId
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)]  # whole items, a JSON integer


class OrderRequest(CamelModel):
    """`reference` and `amount` are optional (★): generated, resp. computed from the purchase."""

    id: int | None = None
    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                               pattern=REFERENCE_PATTERN)
    ] | None = None
    amount: Annotated[Decimal, Field(gt=0)] | None = None
    payment_method: PaymentMethod
    customer_id: NonBlank
    products: Annotated[list[PurchaseRequest], Field(min_length=1, max_length=100)]


class OrderLineResponse(CamelModel):
    id: int
    product_id: int
    quantity: float
    price: float | None = None


class OrderResponse(CamelModel):
    id: int
    reference: str
    amount: float
    payment_method: str
    customer_id: str
    status: str
    created_date: datetime
    lines: list[OrderLineResponse]


class PendingResponse(CamelModel):
    """The 202 answer while payment is unavailable."""

    order_id: int
    reference: str
    status: str
    message: str
