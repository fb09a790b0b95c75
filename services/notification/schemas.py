"""Notification message and response shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, EmailStr

from services.common.schemas import CamelModel


class NotificationType(StrEnum):
    ORDER_CONFIRMATION = "ORDER_CONFIRMATION"
    PAYMENT_CONFIRMATION = "PAYMENT_CONFIRMATION"


class Message(CamelModel):
    """A broker message body: unknown fields are kept."""

    model_config = ConfigDict(extra="allow")


class MessageCustomer(Message):
    email: EmailStr


class OrderConfirmation(Message):
    """The `orderConfirmation` message body (extra fields are kept)."""

    order_reference: str
    customer: MessageCustomer


class PaymentConfirmation(Message):
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
