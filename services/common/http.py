"""Outbound HTTP clients: one `httpx.AsyncClient` per peer service, timed and traced."""

from __future__ import annotations

import time

import httpx

from services.common import metrics

PEER_EXTENSION = "peer.service"


class _PeerTransport(httpx.AsyncBaseTransport):
    """Tags each request with its peer service and times it into the outbound histogram.

    It wraps an `httpx.AsyncHTTPTransport`, whose `handle_async_request` the OpenTelemetry
    httpx instrumentation patches, so the client span sees the `peer.service` extension.
    That span has ended when the time is observed: the exemplar is the caller's span, same trace.
    """

    def __init__(self, peer: str, inner: httpx.AsyncBaseTransport):
        self.peer = peer
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[PEER_EXTENSION] = self.peer
        status = "error"
        start = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
            status = str(response.status_code)
            return response
        finally:
            metrics.http_client_requests_seconds.labels(
                metrics.service_name(), self.peer, request.method, status
            ).observe(time.perf_counter() - start, exemplar=metrics.trace_exemplar())

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_client(
    peer: str, base_url: str, timeout: float, **transport_kwargs: object
) -> httpx.AsyncClient:
    """An `AsyncClient` for calls to the `peer` service at `base_url`.

    Client spans get `peer.service`; latency lands in `http_client_requests_seconds`.
    Extra keyword arguments go to `httpx.AsyncHTTPTransport` (e.g. `limits`, `retries`).
    """
    transport = _PeerTransport(peer, httpx.AsyncHTTPTransport(**transport_kwargs))
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
