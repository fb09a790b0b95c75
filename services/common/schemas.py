"""Pydantic building blocks shared by the services' request/response bodies."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

#: the largest id of a PostgreSQL `integer` column: ids past it are "not found", never a 500
MAX_DB_ID = 2**31 - 1
#: an id in a request body: a JSON integer (no "1", true or 1.0), within the column's range
BodyId = Annotated[int, Field(strict=True, ge=1, le=MAX_DB_ID)]


def in_db_range(value: int) -> bool:
    """Whether an id can exist in an `integer` column (a path id outside it is a 404)."""
    return 1 <= value <= MAX_DB_ID


class CamelModel(BaseModel):
    """JSON fields in camelCase (the original's wire format), Python attributes in snake_case.

    No infinite or NaN numbers (JSON `Infinity`, `1e400`) and no NUL in a string: databases
    refuse both, so they are 400s here instead of 500s there.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


class PaymentMethod(StrEnum):
    """The original's payment methods, shared by order, payment and their messages."""

    PAYPAL = "PAYPAL"
    CREDIT_CARD = "CREDIT_CARD"
    VISA = "VISA"
    MASTER_CARD = "MASTER_CARD"
    BITCOIN = "BITCOIN"
