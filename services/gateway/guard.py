"""Refuse request paths that could mean another path upstream, before any routing (400).

A proxy that forwards the raw path lets `/api/v1/customers/../../openapi.json` (or `%2e%2e`,
`%2f`, `\\`) reach whatever the upstream serves beside its API; a NUL reaches drivers as a
string terminator. None of them is part of a valid shop URL, so they are refused outright.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.errors import error_body

_ENCODED_SEPARATORS = (b"%2f", b"%5c", b"%00")


def unsafe_path(raw_path: bytes) -> str | None:
    """Why `raw_path` (as sent, percent-encoded) is refused, or None when it is plain."""
    lowered = raw_path.lower()
    if any(code in lowered for code in _ENCODED_SEPARATORS):
        return "encoded separator or NUL in the path"
    decoded = unquote_to_bytes(raw_path)
    if b"\x00" in decoded or b"\\" in decoded:
        return "NUL or backslash in the path"
    if any(segment in (b".", b"..") for segment in decoded.split(b"/")):
        return "dot segment in the path"
    return None


class PathGuard:
    """ASGI middleware: 400 (the shop's JSON error body) for an unsafe path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            reason = unsafe_path(raw)
            if reason is not None:
                body = error_body(400, f"Refused path: {reason}")
                await JSONResponse(body, 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
