"""Bounds on what a client can make the (unauthenticated) collector hold or do.

Every refusal happens before the costly step it protects: the body is read as a stream and
refused past its cap (413); gzip is inflated with a cap on the output (413); a batch's spans are
counted before they are normalised (413, so one request can never evict the store); only JSON
or protobuf is read (415); a POST from a browser page of a foreign origin is refused (403, a
`text/plain` post needs no CORS preflight); bodies held at once across requests are bounded
(503 with `Retry-After`). Tags beyond the per-span caps are dropped or truncated and counted.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from services.collector import metrics
from services.collector.spans import SpanError

MiB = 1024 * 1024
MIN_JSON_SPAN = len(b'{"traceId":"1","id":"1"},')  # the smallest span a JSON list can hold
_TRACE_ID_KEY = b'"traceId"'  # every JSON span has it; inside a string the quote is escaped


@dataclass(frozen=True)
class Limits:
    """Caps of one collector (sizes in bytes; tag key/value lengths in characters)."""

    max_body: int = 16 * MiB
    max_inflated: int = 16 * MiB
    max_batch_spans: int = 10_000
    max_in_flight: int = 32 * MiB
    max_tags: int = 128
    max_tag_key: int = 256
    max_tag_value: int = 16_384


class Refused(Exception):
    """A request refused before its spans are read: HTTP status, reason, extra headers."""

    def __init__(self, status: int, reason: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


class InFlight:
    """Bytes of request bodies held now, across requests (one event loop: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> None:
        if self.held + size > self.limit:
            raise Refused(503, "busy", "Too many span bytes in flight; retry later",
                          {"Retry-After": "1"})
        self.held += size

    def give(self, size: int) -> None:
        self.held -= size


async def read_body(stream: AsyncIterator[bytes], declared: str | None, limits: Limits,
                    in_flight: InFlight) -> tuple[bytes, int]:
    """The body, read chunk by chunk and refused as soon as it passes `max_body`.

    Returns the body and the bytes taken from `in_flight`, which the caller gives back once
    the body's spans are stored. A declared `Content-Length` is checked before any read.
    """
    if declared is not None and declared.isdigit():
        size = int(declared)
        if size > limits.max_body:
            raise _too_large(limits)
        in_flight.take(size)
        taken = size
    else:
        taken = 0
    chunks: list[bytes] = []
    read = 0
    try:
        async for chunk in stream:
            read += len(chunk)
            if read > limits.max_body:
                raise _too_large(limits)
            if read > taken:
                in_flight.take(read - taken)
                taken = read
            chunks.append(chunk)
    except BaseException:
        in_flight.give(taken)
        raise
    return b"".join(chunks), taken


def _too_large(limits: Limits) -> Refused:
    return Refused(413, "body_too_large", f"Request body larger than {limits.max_body} bytes")


def check_origin(origin: str | None, allowed: Iterable[str]) -> None:
    """A browser page of another origin may not write spans (absent Origin: not a browser)."""
    if origin is not None and origin not in allowed:
        raise Refused(403, "foreign_origin", f"Origin {origin} may not post spans")


def media_type(content_type: str | None, accepted: tuple[str, ...], default: str) -> str:
    """The request's media type if the endpoint reads it (no header: `default`), else 415."""
    if not content_type:
        return default
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in accepted:
        raise Refused(415, "unsupported_media_type",
                      f"Content-Type {media!r} is not one of {', '.join(accepted)}")
    return media


def inflate(body: bytes, limit: int) -> bytes:
    """gunzip (all members) with at most `limit` bytes of output, else 413."""
    out: list[bytes] = []
    size = 0
    rest = body
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            size += _inflate_member(inflater, rest, limit - size, out)
            if not inflater.eof:
                raise SpanError("Cannot gunzip spans")
            rest = inflater.unused_data.lstrip(b"\0")
    except zlib.error:
        raise SpanError("Cannot gunzip spans") from None
    return b"".join(out)


def _inflate_member(inflater: Any, data: bytes, room: int, out: list[bytes]) -> int:
    size = 0
    while not inflater.eof:
        chunk = inflater.decompress(data, room - size + 1)
        size += len(chunk)
        if size > room:
            raise Refused(413, "inflated_too_large", "Decompressed body too large")
        out.append(chunk)
        data = inflater.unconsumed_tail
        if not data and not chunk:
            break  # input ended inside the member: the caller says it is truncated
    return size


def check_batch(count: int, limit: int) -> None:
    if count > limit:
        raise Refused(413, "too_many_spans", f"{count} spans in one request; at most {limit}")


def check_json_batch(body: bytes, limit: int) -> None:
    """Count a JSON list's spans without building them, when it could hold more than `limit`."""
    if len(body) <= limit * MIN_JSON_SPAN or body.count(_TRACE_ID_KEY) <= limit:
        return
    try:
        count = len(msgspec.json.decode(body, type=list[msgspec.Raw]))
    except msgspec.DecodeError:
        return  # not a list of values: the decoder says why (400)
    check_batch(count, limit)


def cap_tags(spans: list[dict[str, Any]], limits: Limits) -> int:
    """Drop tags past `max_tags` or with an overlong key, truncate overlong values (in place).

    Returns how many tags were dropped or truncated.
    """
    capped = 0
    max_tags, max_key, max_value = limits.max_tags, limits.max_tag_key, limits.max_tag_value
    for span in spans:
        tags = span.get("tags")
        if not tags:
            continue
        if len(tags) <= max_tags and all(
            len(k) <= max_key and len(v) <= max_value for k, v in tags.items()
        ):
            continue
        kept: dict[str, str] = {}
        for key, value in tags.items():
            if len(kept) >= max_tags or len(key) > max_key:
                capped += 1
                continue
            if len(value) > max_value:
                value = value[:max_value]
                capped += 1
            kept[key] = value
        span["tags"] = kept
    if capped:
        metrics.SPAN_TAGS_CAPPED.inc(capped)
    return capped
