"""The collector's ingest caps as pure functions: inflate, batch counting, tag caps, body reads."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from services.collector.limits import (
    InFlight,
    Limits,
    Refused,
    cap_tags,
    check_json_batch,
    check_origin,
    inflate,
    media_type,
    read_body,
)
from services.collector.spans import SpanError, decode_json


def bomb(inflated: int) -> bytes:
    """A gzip member of `inflated` spaces, made without holding them."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    parts = [deflate.compress(block) for _ in range(inflated // len(block))]
    return b"".join(parts) + deflate.flush()


def test_inflate_keeps_members_and_stops_at_the_cap() -> None:
    body = gzip.compress(b"[1,") + gzip.compress(b"2]")
    assert inflate(body, 100) == b"[1,2]"
    assert inflate(gzip.compress(b"x" * 100), 100) == b"x" * 100
    with pytest.raises(Refused) as refused:
        inflate(gzip.compress(b"x" * 101), 100)
    assert (refused.value.status, refused.value.reason) == (413, "inflated_too_large")
    with pytest.raises(Refused):
        inflate(bomb(64 << 20), 1 << 20)


def test_inflate_refuses_garbage_and_truncation_as_400() -> None:
    with pytest.raises(SpanError):
        inflate(b"not gzip", 100)
    with pytest.raises(SpanError):
        inflate(gzip.compress(b"x" * 1000)[:-12], 10_000)


def spans_json(count: int) -> bytes:
    return b"[" + b",".join(b'{"traceId":"%x","id":"1"}' % (i + 1) for i in range(count)) + b"]"


def test_a_json_batch_is_counted_before_it_is_built() -> None:
    check_json_batch(spans_json(100), 100)
    with pytest.raises(Refused) as refused:
        check_json_batch(spans_json(101), 100)
    assert (refused.value.status, refused.value.reason) == (413, "too_many_spans")
    assert len(decode_json(spans_json(100), max_spans=100)) == 100
    # "traceId" as a tag key or inside a value does not count as a span
    tagged = b'[{"traceId":"1","id":"1","tags":{"traceId":"\\"traceId\\""}}]'
    check_json_batch(tagged * 1, 1)


def test_tags_past_the_caps_are_dropped_or_truncated_and_counted() -> None:
    limits = Limits(max_tags=2, max_tag_key=3, max_tag_value=4)
    spans = [
        {"tags": {"a": "12345", "b": "1", "c": "1"}},
        {"tags": {"long": "1", "x": "1"}},
        {"tags": {"y": "1"}},
        {},
    ]
    assert cap_tags(spans, limits) == 3
    assert spans == [{"tags": {"a": "1234", "b": "1"}}, {"tags": {"x": "1"}}, {"tags": {"y": "1"}},
                     {}]  # fmt: skip


def test_origin_and_media_type() -> None:
    check_origin(None, ["http://a"])
    check_origin("http://a", ["http://a"])
    with pytest.raises(Refused) as refused:
        check_origin("null", ["http://a"])
    assert refused.value.status == 403
    assert media_type(None, ("application/json",), "application/json") == "application/json"
    assert media_type("Application/JSON; charset=utf-8", ("application/json",), "x") == (
        "application/json"
    )
    with pytest.raises(Refused) as refused:
        media_type("text/plain", ("application/json",), "application/json")
    assert refused.value.status == 415


async def chunks(*parts: bytes):
    for part in parts:
        yield part


def read(parts: list[bytes], declared: str | None, limits: Limits, flight: InFlight):
    return asyncio.run(read_body(chunks(*parts), declared, limits, flight))


def test_read_body_caps_the_body_and_the_bytes_in_flight() -> None:
    limits = Limits(max_body=10, max_in_flight=15)
    flight = InFlight(limits.max_in_flight)
    assert read([b"12345", b"678"], None, limits, flight) == (b"12345678", 8)
    assert flight.held == 8
    with pytest.raises(Refused) as refused:
        read([b"12345678"], None, limits, flight)  # 8 + 8 held > 15
    assert (refused.value.status, refused.value.headers) == (503, {"Retry-After": "1"})
    assert flight.held == 8  # what the refused request took is given back
    flight.give(8)
    with pytest.raises(Refused) as refused:
        read([b"123456", b"78901"], None, limits, flight)
    assert refused.value.status == 413
    with pytest.raises(Refused):
        read([], "11", limits, flight)  # declared too large: refused before reading
    assert flight.held == 0
