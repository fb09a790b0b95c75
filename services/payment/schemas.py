"""Payment request/response bodies (the original's camelCase JSON fields and enum)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from services.common.schemas import CamelModel, PaymentMethod

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PaymentCustomer(CamelModel):
    id: NonBlank
    firstname: NonBlank
    lastname: NonBlank
    email: EmailStr


class PaymentRequest(CamelModel):
    id: int | None = None
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    payment_method: PaymentMethod
    order_id: int | None = None
    order_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    customer: PaymentCustomer


class PaymentResponse(CamelModel):
    id: int
    amount: float
    payment_method: PaymentMethod
    order_id: int | None
    order_reference: str
    customer_id: str
    customer_firstname: str
    customer_lastname: str
    customer_email: str
    created_date: datetime
