"""Trace and span ids: one normal form, and the rules for when two ids are the same trace."""

from __future__ import annotations

import re

_HEX = re.compile(r"[0-9a-f]+")
_XRAY = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})")
_ZERO16 = "0" * 16


def normalize_id(value: object, *, decimal: bool = False) -> str | None:
    """Lower-case hex of an id, 16 digits for a 64-bit id, 32 for a 128-bit one; None for no id.

    Accepts `0x` prefixes, X-Ray `1-<8>-<24>` ids, unpadded hex, and decimal when `decimal`
    (Datadog's `dd.trace_id`) or when the value is an int. All-zero ids mean "no trace".
    """
    if type(value) is str and len(value) in (16, 32) and not decimal \
            and not value.strip("0123456789abcdef"):  # already normal: the common case, fast
        if len(value) == 32 and value.startswith(_ZERO16):
            value = value[16:]
        return None if value == _ZERO16 else value
    if value is None or value is False:
        return None
    if isinstance(value, int):
        text = format(value, "x")
    else:
        text = str(value).strip().lower()
        if not text:
            return None
        if decimal and text.isdigit():
            text = format(int(text), "x")
        elif text.startswith("0x"):
            text = text[2:]
        else:
            m = _XRAY.fullmatch(text)
            if m:
                text = m.group(1) + m.group(2)
    if len(text) > 32 or not _HEX.fullmatch(text):
        return None
    text = text.lstrip("0")
    if not text:
        return None
    # A 128-bit id whose high half is zero is the same id as its low half (Zipkin's rule).
    return text.zfill(16) if len(text) <= 16 else text.zfill(32)


def same_trace(a: str | None, b: str | None) -> bool:
    """Two normalized trace ids name the same trace; a 64-bit id matches a 128-bit id's low half."""
    if a is None or b is None:
        return False
    if len(a) == len(b):
        return a == b
    return a[-16:] == b[-16:]


def index_key(trace_id: str) -> int:
    """The low 64 bits of a normalized id as a signed SQLite integer (what the index stores)."""
    return int(trace_id[-16:], 16) - (1 << 63)


def search_literals(trace_id: str) -> tuple[str, str]:
    """(hex, decimal): a raw line carrying this trace contains the hex (in any case) or, for
    Datadog, the decimal. The hex is the low half, unpadded when that leaves 8+ digits, so it
    is inside 16- and 32-hex ids, zero-padded, Jaeger and X-Ray forms alike. Candidates are
    checked after parsing.
    """
    low = trace_id[-16:]
    stripped = low.lstrip("0")
    return (stripped if len(stripped) >= 8 else low), str(int(low, 16))
