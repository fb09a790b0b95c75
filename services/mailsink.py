"""Local SMTP sink (aiosmtpd): keeps every mail it receives under `$SHOP_VAR_DIR/mail/`.

Run with `python -m services.mailsink` (port 1025 + `SHOP_PORT_OFFSET`). Each mail is one
`.eml` file with the SMTP envelope in `X-Mailsink-*` headers; `read_mails` and `wait_for_mail`
are the reader API for tests and tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.common import logs
from services.common.settings import get_settings

log = structlog.get_logger()


@dataclass(frozen=True)
class Mail:
    """One received mail."""

    path: Path
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def header(self, name: str) -> str | None:
        return self.message.get(name)


class StoreHandler:
    """aiosmtpd handler writing each mail atomically into `directory`."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        head = (
            f"X-Mailsink-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Mailsink-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(head + content)
        os.replace(tmp, self.directory / name)
        log.info(
            "mail received", file=name, sender=envelope.mail_from, recipients=envelope.rcpt_tos
        )
        return "250 Message accepted for delivery"


def read_mails(mail_dir: str | Path) -> list[Mail]:
    """All mails stored in `mail_dir`, oldest first."""
    directory = Path(mail_dir)
    if not directory.is_dir():
        return []
    mails = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        to = message.get("X-Mailsink-Envelope-To", "")
        mails.append(
            Mail(
                path=path,
                sender=str(message.get("X-Mailsink-Envelope-From", "")),
                recipients=tuple(r.strip() for r in str(to).split(",") if r.strip()),
                subject=str(message.get("Subject", "")),
                message=message,
            )
        )
    return mails


def wait_for_mail(
    mail_dir: str | Path, match: Callable[[Mail], bool], timeout: float = 5.0
) -> Mail | None:
    """The first stored mail for which `match` is true, waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for mail in read_mails(mail_dir):
            if match(mail):
                return mail
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


async def serve() -> None:
    """Listen for SMTP until cancelled."""
    settings = get_settings()
    logs.configure("mailsink", var_dir=settings.shop_var_dir, level=settings.log_level)
    handler = StoreHandler(settings.mail_dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mailsink", ident="shop mailsink"),
        host=settings.shop_bind_host,
        port=settings.port("mailsink"),
    )
    log.info("mailsink listening", port=settings.port("mailsink"), directory=str(settings.mail_dir))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
