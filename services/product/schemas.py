"""Product request/response bodies (the original's camelCase JSON fields)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from services.common.schemas import BodyId, CamelModel

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ProductRequest(CamelModel):
    id: int | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: NonBlank
    available_quantity: float = Field(gt=0)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    category_id: BodyId


class ProductResponse(CamelModel):
    id: int
    name: str
    description: str
    available_quantity: float
    price: float
    category_id: int
    category_name: str
    category_description: str


class PurchaseRequest(CamelModel):
    product_id: BodyId
    quantity: float = Field(gt=0, le=1_000_000)


class PurchaseResponse(CamelModel):
    product_id: int
    name: str
    description: str
    price: float
    quantity: float


class CancelResponse(CamelModel):
    order_reference: str
    status: str
    products: list[PurchaseResponse]
