"""The collector's HTTP API: Zipkin v2 (ingest and query), OTLP/HTTP traces, health, metrics,
and a small read-only trace UI under `/zipkin/` (see `ui.py`).

Starlette without a validation layer, because ingest speed matters and Zipkin's error
contract is plain text: 400 `text/plain` with the reason, 404 for an unknown trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread
import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from services.collector import metrics, otlp
from services.collector._proto import decode_proto
from services.collector.limits import (
    InFlight,
    Limits,
    Refused,
    cap_tags,
    check_origin,
    inflate,
    media_type,
    read_body,
)
from services.collector.openapi import openapi_document
from services.collector.query import (
    QueryError,
    dependency_window,
    parse_trace_ids,
    parse_trace_query,
    required_name,
)
from services.collector.settings import CollectorSettings, get_settings
from services.collector.spans import SpanError, decode_json, normalise_trace_id
from services.collector.store import Retention, SpanRow, SpanStore

log = structlog.get_logger()
JSON = "application/json; charset=utf-8"
EXPIRY_INTERVAL_S = 60.0


def create_app(settings: CollectorSettings | None = None) -> Starlette:
    """The collector app; the store opens at startup on `settings.db_path`."""
    settings = settings or get_settings()
    lookback = settings.collector_query_lookback_ms

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = SpanStore(
            settings.db_path,
            Retention(settings.collector_max_spans, settings.collector_retention_hours * 3600),
            settings.autocomplete_keys,
        )
        app.state.store = store
        await run_in_threadpool(_expire, store)
        expiry = asyncio.create_task(_expire_forever(store))
        log.info("collector.started", db=str(settings.db_path), spans=store.span_count)
        try:
            yield
        finally:
            expiry.cancel()
            store.close()

    def store_of(request: Request) -> SpanStore:
        return request.app.state.store

    limits = settings.limits
    in_flight = InFlight(limits.max_in_flight)
    origins = settings.cors_origins

    async def post_spans(request: Request) -> Response:
        headers = request.headers
        check_origin(headers.get("origin"), origins)
        media = media_type(headers.get("content-type"), _ZIPKIN_TYPES, _JSON_TYPE)
        decode = decode_proto if media == _PROTO_TYPE else decode_json
        return await _ingest(request, decode, "http", _accepted)

    async def post_otlp(request: Request) -> Response:
        headers = request.headers
        check_origin(headers.get("origin"), origins)
        media = media_type(headers.get("content-type"), _OTLP_TYPES, _PROTO_TYPE)
        decode, respond = otlp.decode_proto, otlp.proto_response
        if media == _JSON_TYPE:
            decode, respond = otlp.decode_json, otlp.json_response
        return await _ingest(request, decode, "otlp", respond)

    async def _ingest(
        request: Request, decode: Decoder, transport: str, respond: Callable[[], Response]
    ) -> Response:
        """Read the body within the limits, then decode and store all of it or none of it."""
        headers = request.headers
        body, taken = await read_body(
            request.stream(), headers.get("content-length"), limits, in_flight
        )
        try:
            gzipped = "gzip" in headers.get("content-encoding", "")
            return await _store(store_of(request), body, gzipped, decode, transport, respond,
                                limits)
        finally:
            in_flight.give(taken)

    async def services(request: Request) -> Response:
        return _names(await run_in_threadpool(store_of(request).service_names))

    async def span_names(request: Request) -> Response:
        service = required_name(request.query_params, "serviceName")
        return _names(await run_in_threadpool(store_of(request).span_names, service))

    async def remote_services(request: Request) -> Response:
        service = required_name(request.query_params, "serviceName")
        return _names(await run_in_threadpool(store_of(request).remote_service_names, service))

    async def traces(request: Request) -> Response:
        query = parse_trace_query(request.query_params, lookback)
        found = await run_in_threadpool(store_of(request).find_traces, query)
        return _traces_response(found)

    async def trace(request: Request) -> Response:
        trace_id = normalise_trace_id(request.path_params["trace_id"].strip())
        spans = await run_in_threadpool(store_of(request).trace, trace_id)
        if spans is None:
            return PlainTextResponse(f"{trace_id} not found", 404)
        return Response(_json_list(spans), media_type=JSON)

    async def trace_many(request: Request) -> Response:
        trace_ids = parse_trace_ids(request.query_params.get("traceIds"))
        found = await run_in_threadpool(store_of(request).traces, trace_ids)
        return _traces_response(list(found.values()))

    async def dependencies(request: Request) -> Response:
        start_us, end_us = dependency_window(request.query_params, lookback)
        links = await run_in_threadpool(store_of(request).dependency_links, start_us, end_us)
        return Response(orjson.dumps(links), media_type=JSON)

    async def autocomplete_keys(request: Request) -> Response:
        return _names(sorted(settings.autocomplete_keys), cache=True)

    async def autocomplete_values(request: Request) -> Response:
        key = (request.query_params.get("key") or "").strip()
        if not key:
            raise QueryError("key was empty")
        values = await run_in_threadpool(store_of(request).tag_values, key)
        return _names(values, cache=len(values) > 3)

    async def ui_index(request: Request) -> Response:
        from services.collector import ui

        params = {k: v for k, v in request.query_params.items() if v.strip()}
        query = parse_trace_query({"limit": str(UI_LIMIT), **params}, lookback)
        store = store_of(request)
        found = await run_in_threadpool(store.find_traces, query)
        names = await run_in_threadpool(store.service_names)
        return HTMLResponse(await run_in_threadpool(ui.index_page, found, names, params))

    async def ui_trace(request: Request) -> Response:
        from services.collector import ui

        # a pasted id may be upper case; the API itself stays as strict as Zipkin
        trace_id = normalise_trace_id(request.path_params["trace_id"].strip().lower())
        spans = await run_in_threadpool(store_of(request).trace, trace_id)
        if spans is None:
            return HTMLResponse(ui.not_found_page(trace_id), 404)
        log_dir = settings.shop_var_dir / "log"
        return HTMLResponse(await run_in_threadpool(ui.trace_page, trace_id, spans, log_dir))

    async def to_ui(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse("/zipkin/" + (f"?{query}" if query else ""))

    async def health(request: Request) -> Response:
        store = store_of(request)
        try:
            await run_in_threadpool(store.span_names, "")
        except sqlite3.Error as exc:
            detail = {"status": "DOWN", "details": {"error": str(exc)}}
            return _json({"status": "DOWN", "zipkin": {"status": "DOWN", "details": detail}}, 503)
        detail = {"status": "UP", "details": {"spans": store.span_count, "db": store.path}}
        return _json({"status": "UP", "zipkin": {"status": "UP", "details": {"SQLite": detail}}})

    document = orjson.dumps(openapi_document())

    async def openapi_json(request: Request) -> Response:
        return Response(document, media_type=JSON)

    async def prometheus(request: Request) -> Response:
        metrics.SPANS_STORED.set(store_of(request).span_count)
        metrics.BYTES_IN_FLIGHT.set(in_flight.held)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    api = [
        Route("/spans", post_spans, methods=["POST"]),
        Route("/services", services),
        Route("/spans", span_names),
        Route("/remoteServices", remote_services),
        Route("/traces", traces),
        Route("/trace/{trace_id}", trace),
        Route("/traceMany", trace_many),
        Route("/dependencies", dependencies),
        Route("/autocompleteKeys", autocomplete_keys),
        Route("/autocompleteValues", autocomplete_values),
    ]
    routes = [
        *(Route(p + r.path, r.endpoint, methods=r.methods) for p in _PREFIXES for r in api),
        Route("/v1/traces", post_otlp, methods=["POST"]),
        Route("/health", health),
        Route("/openapi.json", openapi_json),
        Route("/metrics", prometheus),
        Route("/prometheus", prometheus),
        Route("/zipkin/", ui_index),
        Route("/zipkin/traces/{trace_id}", ui_trace),
        Route("/zipkin", to_ui),
        Route("/", to_ui),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Content-Encoding"],
        max_age=600,
    )
    return Starlette(
        routes=routes,
        middleware=[cors],
        lifespan=lifespan,
        exception_handlers={SpanError: _bad_request, QueryError: _bad_request, Refused: _refused},
    )


_PREFIXES = ("/api/v2", "/zipkin/api/v2")  # Zipkin also serves its API under /zipkin for the UI
UI_LIMIT = 25  # traces the UI lists when the query does not say
# one thread per ingest stage: more decoders would only fight over the GIL, and SQLite has
# one writer anyway
_DECODE_LIMITER = anyio.CapacityLimiter(1)
_STORE_LIMITER = anyio.CapacityLimiter(1)


Decoder = Callable[..., list[dict[str, Any]]]
_JSON_TYPE, _PROTO_TYPE = "application/json", "application/x-protobuf"
_ZIPKIN_TYPES = _OTLP_TYPES = (_JSON_TYPE, _PROTO_TYPE)


async def _store(
    store: SpanStore,
    body: bytes,
    gzipped: bool,
    decode: Decoder,
    transport: str,
    respond: Callable[[], Response],
    limits: Limits,
) -> Response:
    """Decode the whole body, then store all of it or none of it.

    Two single-thread stages, so the next body is decoded while SQLite (which releases the GIL)
    writes the previous one.
    """

    def prepare() -> list[SpanRow]:
        data = inflate(body, limits.max_inflated) if gzipped else body
        spans = decode(data, max_spans=limits.max_batch_spans)
        cap_tags(spans, limits)
        return store.rows(spans)

    try:
        rows = await anyio.to_thread.run_sync(prepare, limiter=_DECODE_LIMITER)
    except SpanError as exc:
        metrics.MESSAGES_REJECTED.labels(transport).inc()
        metrics.SPANS_REJECTED.labels(transport).inc(exc.span_count)
        return PlainTextResponse(f"{_one_line(exc)}\n", 400)
    try:
        result = await anyio.to_thread.run_sync(store.add_rows, rows, limiter=_STORE_LIMITER)
    except sqlite3.Error as exc:
        metrics.SPANS_DROPPED.labels("store_error").inc(len(rows))
        log.error("collector.store_failed", error=str(exc), spans=len(rows))
        return PlainTextResponse(f"Cannot store spans: {exc}\n", 500)
    metrics.SPANS_ACCEPTED.labels(transport).inc(result.stored)
    if result.duplicates:
        metrics.SPANS_DROPPED.labels("duplicate").inc(result.duplicates)
    if result.evicted:
        metrics.SPANS_DROPPED.labels("span_cap").inc(result.evicted)
    return respond()


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    metrics.MESSAGES_REFUSED.labels(exc.reason).inc()
    return PlainTextResponse(f"{_one_line(exc)}\n", exc.status, headers=exc.headers)


def _accepted() -> Response:
    return Response(status_code=202)


def _expire(store: SpanStore) -> None:
    expired = store.expire()
    if expired:
        metrics.SPANS_DROPPED.labels("retention_age").inc(expired)
        log.info("collector.expired", spans=expired)


async def _expire_forever(store: SpanStore) -> None:
    while True:
        await asyncio.sleep(EXPIRY_INTERVAL_S)
        try:
            await run_in_threadpool(_expire, store)
        except sqlite3.Error as exc:
            log.warning("collector.expiry_failed", error=str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(_one_line(exc), 400)


def _one_line(exc: Exception) -> str:
    """The reason on one line, even when it quotes input with line breaks."""
    return str(exc).replace("\r", "\\r").replace("\n", "\\n")


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type=JSON)


def _names(names: list[str], cache: bool | None = None) -> Response:
    """A name list; Zipkin lets clients cache it once more than three names exist."""
    response = _json(names)
    if cache if cache is not None else len(names) > 3:
        response.headers["Cache-Control"] = "max-age=300, must-revalidate"
    return response


def _json_list(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


def _traces_response(traces: list[list[bytes]]) -> Response:
    return Response(_json_list([_json_list(spans) for spans in traces]), media_type=JSON)
