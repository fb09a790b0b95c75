"""Customer request/response bodies (the original's camelCase JSON fields)."""

from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, StringConstraints

from services.common.schemas import CamelModel

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Address(CamelModel):
    street: Annotated[str, StringConstraints(max_length=200)] | None = None
    house_number: Annotated[str, StringConstraints(max_length=50)] | None = None
    zip_code: Annotated[str, StringConstraints(max_length=20)] | None = None


class CustomerRequest(CamelModel):
    id: str | None = None
    firstname: NonBlank
    lastname: NonBlank
    email: EmailStr
    address: Address | None = None


class CustomerResponse(CamelModel):
    id: str
    firstname: str
    lastname: str
    email: str
    address: Address | None = None
