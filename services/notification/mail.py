"""The confirmation e-mails, sent by real SMTP (to the local sink in a dev stack)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

SENDER = "shop@example.com"
SUBJECTS = {
    "ORDER_CONFIRMATION": "Order confirmation",
    "PAYMENT_CONFIRMATION": "Payment successfully processed",
}


def _order_text(body: dict[str, Any]) -> str:
    customer = body.get("customer") or {}
    lines = [
        f"Hello {customer.get('firstname', '')} {customer.get('lastname', '')},".replace(" ,", ","),
        "",
        f"thank you for your order {body['orderReference']}.",
        "",
    ]
    for item in body.get("products") or []:
        lines.append(f"  {item.get('quantity', '?'):>6} x {item.get('name', item.get('productId'))}"
                     f"  at {item.get('price', '?')}")
    lines += ["", f"Total: {body.get('totalAmount', '?')} ({body.get('paymentMethod', '?')})"]
    return "\n".join(lines) + "\n"


def _payment_text(body: dict[str, Any]) -> str:
    return (
        f"Hello {body.get('customerFirstname', '')} {body.get('customerLastname', '')},\n\n"
        f"your payment of {body.get('amount', '?')} ({body.get('paymentMethod', '?')}) for order "
        f"{body['orderReference']} was processed successfully.\n"
    )


def build(kind: str, recipient: str, body: dict[str, Any], message_id: str) -> EmailMessage:
    """The mail for one notification (`kind` is the NotificationType value)."""
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = recipient
    mail["Subject"] = f"{SUBJECTS[kind]} {body['orderReference']}"
    mail["X-Order-Reference"] = body["orderReference"]
    mail["X-Notification-Type"] = kind
    mail["X-Message-Id"] = message_id
    text = _order_text(body) if kind == "ORDER_CONFIRMATION" else _payment_text(body)
    mail.set_content(text)
    return mail


def _send(mail: EmailMessage, host: str, port: int, timeout: float) -> None:
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.send_message(mail)


async def send(mail: EmailMessage, host: str, port: int, timeout: float = 5.0) -> None:
    """Deliver `mail` to the SMTP server at host:port (in a worker thread)."""
    await asyncio.to_thread(_send, mail, host, port, timeout)
