"""Pydantic building blocks shared by the services' request/response bodies."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """JSON fields in camelCase (the original's wire format), Python attributes in snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PaymentMethod(StrEnum):
    """The original's payment methods, shared by order, payment and their messages."""

    PAYPAL = "PAYPAL"
    CREDIT_CARD = "CREDIT_CARD"
    VISA = "VISA"
    MASTER_CARD = "MASTER_CARD"
    BITCOIN = "BITCOIN"
