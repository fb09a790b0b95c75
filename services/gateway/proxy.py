"""Forward one request to its upstream unchanged; turn a dead or slow upstream into 502/504."""

from __future__ import annotations

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import Response

log = structlog.get_logger()

# RFC 9110 §7.6.1 connection-specific fields, plus the two that httpx/uvicorn set themselves.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class UpstreamError(Exception):
    """The upstream gave no usable answer; `status` is 502 (down/broken) or 504 (too slow)."""

    def __init__(self, upstream: str, status: int, message: str):
        super().__init__(message)
        self.upstream = upstream
        self.status = status
        self.message = message


# uvicorn writes its own `date` and `server` on every response; the upstream's would double them.
SERVER_SET = frozenset({"date", "server"})


def _end_to_end(
    raw: list[tuple[bytes, bytes]], drop: frozenset[str] = HOP_BY_HOP
) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in raw if k.decode("latin-1").lower() not in drop]


def _target(request: Request) -> str:
    """Path and query exactly as the client sent them (still percent-encoded)."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")


async def forward(client: httpx.AsyncClient, upstream: str, request: Request) -> Response:
    """Send `request` to `upstream` through `client` and return its answer as it came."""
    headers = _end_to_end(request.headers.raw)
    client_host = request.client.host if request.client else ""
    headers += [
        (b"x-forwarded-for", client_host.encode()),
        (b"x-forwarded-host", request.headers.get("host", "").encode("latin-1")),
        (b"x-forwarded-proto", request.url.scheme.encode()),
    ]
    outbound = client.build_request(
        request.method, _target(request), headers=headers, content=await request.body()
    )
    try:
        answer = await client.send(outbound, stream=True)
        try:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
    except httpx.TimeoutException as exc:
        seconds = client.timeout.read
        log.warning("upstream timed out", upstream=upstream, seconds=seconds, error=repr(exc))
        raise UpstreamError(
            upstream, 504, f"upstream '{upstream}' did not answer within {seconds:g} s"
        ) from exc
    except httpx.ConnectError as exc:
        log.warning("upstream unavailable", upstream=upstream, error=repr(exc))
        raise UpstreamError(upstream, 502, f"upstream '{upstream}' is unavailable") from exc
    except httpx.TransportError as exc:
        log.warning("upstream broke the exchange", upstream=upstream, error=repr(exc))
        raise UpstreamError(
            upstream, 502, f"upstream '{upstream}' broke the connection: {type(exc).__name__}"
        ) from exc
    response = Response(content=body, status_code=answer.status_code)
    response.raw_headers = _end_to_end(answer.headers.raw, HOP_BY_HOP | SERVER_SET) + [
        (b"content-length", str(len(body)).encode())
    ]
    return response
