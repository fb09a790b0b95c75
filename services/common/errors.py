"""The one JSON error envelope of every shop service.

`{"status": 404, "error": "Not Found", "message": "...", "errors": {"field": "msg"}?,
"traceId": "<32 hex>"}`: validation is 400 naming each field, an unreachable database or
broker is 503, anything unexpected is a JSON 500 (never a hang, never an HTML page).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import sqlalchemy.exc as sa_exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.broker import BrokerUnavailable
from services.common.db import UNAVAILABLE_ERRORS, is_unavailable

log = structlog.get_logger()


class ApiError(Exception):
    """A client-facing error: raise it from a route to answer with the envelope."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def current_trace_id(request: Request | None = None) -> str | None:
    """Trace id (32 hex) of the active span, else of the request's `traceparent`, else None."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x")
    parent = request.headers.get("traceparent", "") if request is not None else ""
    parts = parent.split("-")
    if len(parts) == 4 and len(parts[1]) == 32:
        return parts[1]
    return None


def error_body(
    status: int, message: str, errors: dict[str, str] | None = None, request: Request | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    body["traceId"] = current_trace_id(request)
    return body


def error_response(
    status: int,
    message: str,
    errors: dict[str, str] | None = None,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, errors, request), status, headers=headers)


def field_errors(exc: RequestValidationError) -> dict[str, str]:
    """`{"customer.email": "value is not a valid email address: ..."}` from pydantic errors."""
    out: dict[str, str] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            out["body"] = f"malformed JSON: {err.get('msg', 'invalid')}"
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        if loc and loc[0] in ("query", "path", "header"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        out.setdefault(field, err.get("msg", "invalid"))
    return out


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.errors, request)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc)
    message = "Invalid request: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    return error_response(400, message, errors, request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), None, request, exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, BrokerUnavailable):
        log.warning("broker unavailable", path=request.url.path, error=str(exc))
        return error_response(503, f"Message broker unavailable: {exc}", None, request)
    if is_unavailable(exc):
        log.warning("database unavailable", path=request.url.path, error=str(exc).splitlines()[0])
        return error_response(503, "Database unavailable, try again shortly", None, request)
    if isinstance(exc, sa_exc.DataError):  # a value the database refuses (NUL, overflow)
        log.info("value refused by the database", path=request.url.path,
                 error=str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)
        return error_response(400, "Invalid value: the database refused it", None, request)
    log.exception("unhandled error", path=request.url.path)
    return error_response(500, f"Internal error: {type(exc).__name__}", None, request)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of `app` through the envelope."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    # Known outage types are handled inside the app (no re-raise to the server); the rest
    # reach Starlette's last-resort handler, which still answers with the envelope.
    for outage in (BrokerUnavailable, sa_exc.DBAPIError, *UNAVAILABLE_ERRORS):
        app.add_exception_handler(outage, _on_unexpected)
    app.add_exception_handler(Exception, _on_unexpected)
