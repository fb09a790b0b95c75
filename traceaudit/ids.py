"""Trace and span ids and span kinds: one home for the rules every reader applies.

Ids are lower-case hex, a span id 16 digits, a trace id 16 (64-bit) or 32 (128-bit) digits,
left-padded; a 128-bit id whose high half is zero is the 64-bit id (Zipkin's rule); all zeros
is no id. Readers of foreign data also accept upper case and the base64 of the raw bytes
(Tempo, old Jaeger api_v3, some OTLP producers).
"""

from __future__ import annotations

import re

KINDS = ("CLIENT", "SERVER", "PRODUCER", "CONSUMER")
# OTLP SpanKind numbers (trace.proto) and names; INTERNAL/UNSPECIFIED have no Zipkin kind
OTLP_KINDS = {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
KIND_NUMBERS = {v: k for k, v in OTLP_KINDS.items()}
_HEX = re.compile(r"[0-9a-f]+")
_ZERO16 = "0" * 16


def normalize_trace_id(value: object) -> str | None:
    """Zipkin's rule: lower-hex, left-padded to 16 or 32; a zero high half is dropped."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if not _HEX.fullmatch(value) or len(value) > 32:
        return None
    value = value.zfill(16 if len(value) <= 16 else 32)
    if len(value) == 32 and value.startswith(_ZERO16):
        value = value[16:]
    return None if value.strip("0") == "" else value


def normalize_span_id(value: object) -> str | None:
    """Lower-hex, left-padded to 16; None for no id (absent, invalid or all zeros)."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if not _HEX.fullmatch(value) or len(value) > 16:
        return None
    value = value.zfill(16)
    return None if value == _ZERO16 else value


def foreign_id(value: object, nbytes: int) -> str | None:
    """Hex of an id written as hex (any case, ≤ 2·`nbytes` digits) or as base64 of at most
    `nbytes` raw bytes; None when it is neither, or empty."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if len(text) <= 2 * nbytes and _HEX.fullmatch(text.lower()):
        return text.lower()
    if len(text) % 4 == 0 and len(text) <= 4 * ((nbytes + 2) // 3):
        import base64  # for Tempo's ids only: kept off `logcorr grep`'s start-up
        import binascii

        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.hex() if 0 < len(raw) <= nbytes else None
    return None


def kind_name(value: object) -> str | None:
    """A span kind as Zipkin spells it from an OTLP number, an enum name (`SPAN_KIND_SERVER`)
    or a Jaeger `span.kind` tag (`server`); None for INTERNAL, UNSPECIFIED and unknowns."""
    if isinstance(value, int) and not isinstance(value, bool):
        return OTLP_KINDS.get(value)
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("SPAN_KIND_")
        if text.isdigit():
            return OTLP_KINDS.get(int(text))
        return text if text in KINDS else None
    return None


def status_name(value: object) -> str | None:
    """OTLP status code → `OK`/`ERROR` from 1/2, `STATUS_CODE_ERROR` or `ERROR`; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {1: "OK", 2: "ERROR"}.get(value)
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("STATUS_CODE_")
        if text.isdigit():
            return {1: "OK", 2: "ERROR"}.get(int(text))
        return text if text in ("OK", "ERROR") else None
    return None
