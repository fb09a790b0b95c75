"""Notification message and response shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr
from pydantic.alias_generators import to_camel


class NotificationType(StrEnum):
    ORDER_CONFIRMATION = "ORDER_CONFIRMATION"
    PAYMENT_CONFIRMATION = "PAYMENT_CONFIRMATION"


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class MessageCustomer(CamelModel):
    email: EmailStr


class OrderConfirmation(CamelModel):
    """The `orderConfirmation` message body (extra fields are kept)."""

    order_reference: str
    customer: MessageCustomer


class PaymentConfirmation(CamelModel):
    """The `paymentConfirmation` message body (extra fields are kept)."""

    order_reference: str
    customer_email: EmailStr


class NotificationResponse(CamelModel):
    id: int
    message_id: str
    type: NotificationType
    order_reference: str
    recipient: str
    notification_date: datetime
    email_sent: bool
    order_confirmation: dict[str, Any] | None = None
    payment_confirmation: dict[str, Any] | None = None
