"""Customer service routes (`/api/v1/customers`)."""

from __future__ import annotations

import uuid

import structlog
from fastapi import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common import faults
from services.common.app import create_app
from services.common.db import SessionDep
from services.common.errors import ApiError
from services.customer.models import Base, Customer
from services.customer.schemas import Address, CustomerRequest, CustomerResponse

log = structlog.get_logger()
app = create_app("customer", metadata=Base.metadata)


def _to_response(row: Customer) -> CustomerResponse:
    address = None
    if row.street is not None or row.house_number is not None or row.zip_code is not None:
        address = Address(street=row.street, house_number=row.house_number, zip_code=row.zip_code)
    return CustomerResponse(
        id=row.id, firstname=row.firstname, lastname=row.lastname, email=row.email, address=address
    )


def _apply(row: Customer, body: CustomerRequest) -> None:
    row.firstname, row.lastname, row.email = body.firstname, body.lastname, str(body.email)
    address = body.address or Address()
    row.street, row.house_number, row.zip_code = (
        address.street, address.house_number, address.zip_code,
    )


@app.post("/api/v1/customers")
async def create_customer(body: CustomerRequest, session: SessionDep) -> str:
    """Create a customer; the new id (a JSON string) back."""
    row = Customer(id=body.id or str(uuid.uuid4()))
    _apply(row, body)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise ApiError(409, f"Customer with ID {row.id} already exists", {"id": "taken"}) from exc
    log.info("customer created", customer_id=row.id)
    return row.id


@app.put("/api/v1/customers", status_code=202)
async def update_customer(body: CustomerRequest, session: SessionDep) -> Response:
    """Replace a customer's fields (including lastname, unlike the original)."""
    if not body.id:
        raise ApiError(400, "Invalid request: id: required for an update", {"id": "required"})
    row = await session.get(Customer, body.id)
    if row is None:
        raise ApiError(
            404, f"Cannot update customer:: No customer found with the provided ID: {body.id}"
        )
    _apply(row, body)
    await session.commit()
    log.info("customer updated", customer_id=row.id)
    return Response(status_code=202)


@app.get("/api/v1/customers")
async def list_customers(session: SessionDep, email: str | None = None) -> list[CustomerResponse]:
    query = select(Customer).order_by(Customer.lastname, Customer.id)
    if email:
        query = query.where(Customer.email == email)
    return [_to_response(row) for row in (await session.scalars(query)).all()]


@app.get("/api/v1/customers/exists/{customer_id}")
async def customer_exists(customer_id: str, session: SessionDep) -> bool:
    return await session.get(Customer, customer_id) is not None


@app.get("/api/v1/customers/{customer_id}")
async def get_customer(customer_id: str, session: SessionDep) -> CustomerResponse:
    await faults.delay(faults.CUSTOMER_SLOWDOWN)
    row = await session.get(Customer, customer_id)
    if row is None:
        raise ApiError(404, f"No customer found with the provided ID: {customer_id}")
    return _to_response(row)


@app.delete("/api/v1/customers/{customer_id}", status_code=202)
async def delete_customer(customer_id: str, session: SessionDep) -> Response:
    """Delete a customer; 202 even when it did not exist (as the original)."""
    row = await session.get(Customer, customer_id)
    if row is not None:
        await session.delete(row)
        await session.commit()
        log.info("customer deleted", customer_id=customer_id)
    return Response(status_code=202)
