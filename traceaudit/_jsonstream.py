"""Read `/api/v2/traces` JSON (a list of traces) in chunks of whole traces.

Parsing a 300 MB file at once costs ~8x its size in Python objects; reading it in chunks keeps
the peak near one chunk, and a 1 MB chunk's objects are still in the CPU cache while they are
turned into columns (~10% faster than 8 MB chunks). Chunks are cut at the byte pattern that
separates two traces (`}` `]` `,` `[` `{`), the last one in a fixed buffer; one inside a string
makes a chunk unparsable, and then an earlier cut is tried (the buffer only grows for a trace
longer than itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import msgspec
import orjson

# between two traces: the last span's "}", "]", ",", "[", the next span's "{" (rare in a string)
_CUT = re.compile(rb"\}\s*(\])\s*,\s*(\[)\s*\{")
_WS = b" \t\r\n"


class JsonShapeError(ValueError):
    """The bytes are not a JSON list of traces (or one trace)."""


def iter_trace_chunks(stream: BinaryIO, chunk_bytes: int = 1 << 20,
                      decoder: msgspec.json.Decoder | None = None) -> Iterator[list]:
    """Yield lists of traces (each a list of span dicts) read from a binary stream.

    Accepts `[[span, ...], ...]` (`/api/v2/traces`) and `[span, ...]` (`/api/v2/trace/{id}`).
    With a typed `decoder`, chunks it can decode come as its type instead of dicts.
    """
    head = stream.read(chunk_bytes)
    start = len(head) - len(head.lstrip(_WS))
    if not head[start:start + 1] == b"[":
        raise JsonShapeError("expected a JSON list of traces")
    rest = head[start + 1:].lstrip(_WS)
    if rest[:1] != b"[":  # one trace (a list of spans), an empty list, or garbage
        data = head + stream.read()
        yield [_loads(data)] if rest[:1] == b"{" else _as_traces(_loads(data))
        return
    # one buffer, filled in place: buf[0] is a free byte before the next trace, so a chunk is
    # decoded where it lies (buf[0] becomes its "[", the byte after its last trace its "]")
    buf = bytearray(max(chunk_bytes, len(rest) + 1))
    buf[0] = ord("[")
    filled = 1 + len(rest)
    buf[1:filled] = rest
    eof = False
    while True:
        while not eof and filled < len(buf):
            with memoryview(buf) as view, view[filled:] as free:
                got = stream.readinto(free)
            eof = not got
            filled += got
        if eof:
            tail = bytes(buf[:filled]).rstrip(_WS)
            if not tail.endswith(b"]"):
                raise JsonShapeError("the list of traces is not closed (truncated file?)")
            yield _as_traces(_loads(tail, decoder))
            return
        for end, resume in _cuts(buf, filled):
            saved, buf[end] = buf[end], ord("]")
            try:
                with memoryview(buf) as view, view[:end + 1] as piece:
                    traces = _decode_piece(piece, decoder)
            except (orjson.JSONDecodeError, msgspec.DecodeError):
                buf[end] = saved  # the cut was inside a string
                continue
            left = buf[resume - 1:filled]
            filled = len(left)
            buf[:filled] = left
            buf[0] = ord("[")
            yield traces
            break
        else:  # no usable cut: a trace longer than the buffer
            buf.extend(bytes(len(buf)))


def _cuts(buf: bytearray, filled: int, near: int = 64 << 10) -> Iterator[tuple[int, int]]:
    """Places to cut `buf[:filled]` between two traces, last first: (end of the chunk, start of
    the next trace). The regex only scans the last `near` bytes unless none of those works."""
    lo = max(1, filled - near)
    for window in ((lo, filled), (1, lo)):
        for m in reversed(list(_CUT.finditer(buf, *window))):
            yield m.start(1) + 1, m.start(2)


def _decode_piece(piece: bytes | memoryview, decoder: msgspec.json.Decoder | None):
    """Typed when the piece fits the decoder's type, else plain JSON (dicts)."""
    if decoder is not None:
        try:
            return decoder.decode(piece)
        except msgspec.ValidationError:
            pass  # valid JSON of another shape, or the cut is inside a string
    return orjson.loads(piece)


def _loads(data: bytes, decoder: msgspec.json.Decoder | None = None):
    try:
        return _decode_piece(data, decoder)
    except (orjson.JSONDecodeError, msgspec.DecodeError) as exc:
        raise JsonShapeError(f"not valid JSON ({exc})") from None


def _as_traces(value) -> list:
    if not isinstance(value, list):
        raise JsonShapeError("expected a JSON list of traces")
    return value
