"""JSON in and out of log lines. Python's json reads a grep's few lines: it loads in a few ms,
where orjson's import costs ~25 ms (it pulls dataclasses, uuid and platform), half an indexed
grep's budget. Readers of every line (`traces`, an index build) take orjson, 5× faster a line."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable

Loads = Callable[[bytes], object]


def loads(raw: bytes | str) -> object:
    """A line's JSON as Python's json reads it, NaN and Infinity included (structlog and
    python-json-logger write them); ValueError when it is not JSON."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:  # invalid UTF-8 inside a string: read it as U+FFFD, as text is
        return loads(raw.decode("utf-8", "replace")) if isinstance(raw, bytes) else None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@functools.cache
def bulk_loads() -> Loads:
    """`loads` for reading many lines: orjson, and Python's json where orjson is stricter
    (NaN, Infinity, lone surrogates, invalid UTF-8), so that both accept the same lines."""
    import orjson

    def fast(raw: bytes) -> object:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return loads(raw)

    return fast


_COMPACT = {"ensure_ascii": False, "separators": (",", ":"), "default": str}


def dumps(value: object) -> str:
    """Compact JSON, UTF-8 text kept; NaN and ±Infinity (read from a log line) written as
    null, as orjson and JavaScript do, so that the output stays JSON."""
    try:
        return json.dumps(value, allow_nan=False, **_COMPACT)
    except ValueError:  # a non-finite float somewhere
        return json.dumps(_finite(value), **_COMPACT)


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
