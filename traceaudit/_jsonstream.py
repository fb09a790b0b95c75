"""Read `/api/v2/traces` JSON (a list of traces) in chunks of whole traces.

Parsing a 300 MB file at once costs ~8x its size in Python objects; reading it in chunks keeps
the peak near one chunk. Chunks are cut at the byte pattern that separates two traces
(`]` `,` `[`); one inside a string makes a chunk unparsable, and then the chunk simply grows to
the next cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import msgspec
import orjson

_CUT = re.compile(rb"\]\s*,\s*\[")
_WS = b" \t\r\n"


class JsonShapeError(ValueError):
    """The bytes are not a JSON list of traces (or one trace)."""


def iter_trace_chunks(stream: BinaryIO, chunk_bytes: int = 8 << 20,
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
    buf = bytearray(rest)
    eof = False
    while True:
        while not eof and len(buf) < 2 * chunk_bytes:
            more = stream.read(chunk_bytes)
            eof = not more
            buf += more
        pos = chunk_bytes // 2
        while True:
            cut = _CUT.search(buf, pos)
            if cut is None:
                if not eof:
                    more = stream.read(chunk_bytes)
                    eof = not more
                    buf += more
                    continue
                tail = bytes(buf).rstrip(_WS)
                if not tail.endswith(b"]"):
                    raise JsonShapeError("the list of traces is not closed (truncated file?)")
                yield _as_traces(_loads(b"[" + tail, decoder))
                return
            piece = b"[" + bytes(buf[:cut.start() + 1]) + b"]"
            try:
                traces = _decode_piece(piece, decoder)
            except (orjson.JSONDecodeError, msgspec.DecodeError):
                pos = cut.end()  # the cut was inside a string: grow the chunk
                continue
            del buf[:cut.end() - 1]
            yield traces
            break


def _decode_piece(piece: bytes, decoder: msgspec.json.Decoder | None):
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
