"""The gateway app: routes `/api/v1/<prefix>` to its service, CORS for dev origins, the web app."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.app import create_app
from services.common.errors import current_trace_id, error_body, error_response
from services.common.http import make_client
from services.gateway import proxy, web
from services.gateway.config import GatewaySettings, get_gateway_settings
from services.gateway.guard import PathGuard
from services.gateway.upstreams import ROUTES, allowed_methods, upstream_for, upstream_names

CORS_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
CORS_HEADERS = ["content-type", "accept", "idempotency-key", "traceparent", "tracestate", "b3"]
TRACE_HEADER = "X-Trace-Id"


class TraceIdHeader:
    """Adds `X-Trace-Id` (the active trace) to every response, so a client can find its trace."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                trace_id = current_trace_id(Request(scope))
                if trace_id:
                    header = (TRACE_HEADER.lower().encode(), trace_id.encode())
                    message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_trace)


_ID_SEGMENT = re.compile(r"\d+|[0-9a-fA-F-]{8,}")


def proxied_route(path: str) -> str:
    """The low-cardinality route of a proxied path: numeric, UUID or hex segments become `{id}`."""
    return "/".join("{id}" if _ID_SEGMENT.fullmatch(s) else s for s in path.split("/"))


def _name_server_span(request: Request) -> None:
    """Name the server span after the proxied route (`POST /api/v1/orders`), not the catch-all
    `/api/v1/{rest:path}`, so each hop of the shop is findable by its OTel HTTP span name.

    `http.route` keeps the route FastAPI matched, as the HTTP conventions define it.
    """
    trace.get_current_span().update_name(f"{request.method} {proxied_route(request.url.path)}")


def _clients(gw: GatewaySettings) -> dict[str, httpx.AsyncClient]:
    return {
        name: make_client(
            name,
            gw.url(name),
            httpx.Timeout(gw.timeout(name), connect=gw.gateway_connect_timeout),
        )
        for name in upstream_names()
    }


def build_app(gw: GatewaySettings | None = None) -> FastAPI:
    """A gateway for the upstreams of the current settings (`gw` overrides the env, for tests)."""
    gw = gw or get_gateway_settings()
    clients: dict[str, httpx.AsyncClient] = {}

    async def open_clients(_: FastAPI) -> None:
        clients.update(_clients(gw))

    async def close_clients(_: FastAPI) -> None:
        for client in clients.values():
            await client.aclose()

    app = create_app(
        "gateway", on_startup=[open_clients], on_shutdown=[close_clients], settings=gw
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=gw.cors_origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        expose_headers=[TRACE_HEADER],
        max_age=3600,
    )
    app.add_middleware(TraceIdHeader)
    app.add_middleware(PathGuard)  # outermost: before CORS, tracing and routing

    @app.api_route(
        "/api/v1/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
        include_in_schema=False,
    )
    async def route_api(request: Request, rest: str) -> Response:
        upstream = upstream_for(request.url.path)
        if upstream is None:
            prefixes = ", ".join(f"/api/v1/{p}" for p in ROUTES)
            return error_response(
                404, f"No route for {request.url.path}; routed prefixes: {prefixes}", None, request
            )
        methods = allowed_methods(request.url.path)
        if not methods:
            return error_response(404, f"No route for {request.url.path}", None, request)
        if request.method not in methods:
            return error_response(405, f"{request.method} is not allowed on {request.url.path}",
                                  None, request, headers={"Allow": ", ".join(methods)})
        _name_server_span(request)
        try:
            return await proxy.forward(clients[upstream], upstream, request)
        except proxy.UpstreamError as exc:
            body: dict[str, Any] = error_body(exc.status, exc.message, None, request)
            body["upstream"] = exc.upstream
            return JSONResponse(body, exc.status)

    @app.get("/web-config.json", include_in_schema=False)
    async def web_config() -> dict[str, str]:
        """What the browser needs at run time: where to send spans, where to link traces."""
        collector = gw.url("collector")
        return {
            "collectorUrl": collector,
            "zipkinUiUrl": (gw.web_zipkin_ui_url or f"{collector}/zipkin").rstrip("/"),
            "serviceName": "web",
        }

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_app(request: Request, path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            return error_response(404, f"No route for {request.url.path}", None, request)
        return web.web_response(gw.gateway_web_dist, path)

    return app


app = build_app()
