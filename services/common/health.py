"""`/health/live` and `/health/ready` (503 naming what is not reachable, and why)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

# A readiness check returns None when fine, else the reason it is not.
ReadyCheck = Callable[[Request], Awaitable[str | None]]

router = APIRouter(prefix="/health", include_in_schema=False)


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "UP"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    checks: dict[str, ReadyCheck] = request.app.state.ready_checks
    results = {name: await check(request) for name, check in checks.items()}
    down = {name: reason for name, reason in results.items() if reason is not None}
    body = {
        "status": "DOWN" if down else "UP",
        "service": request.app.state.service,
        "checks": {name: reason or "UP" for name, reason in results.items()},
    }
    if down:
        body["reason"] = "; ".join(f"{name}: {reason}" for name, reason in down.items())
    return JSONResponse(body, status_code=503 if down else 200)


async def database_check(request: Request) -> str | None:
    return await request.app.state.db.ping()


async def broker_check(request: Request) -> str | None:
    return request.app.state.broker.ping()
