"""Trace and span ids: one normal form, and the rules for when two ids are the same trace.

Imports nothing up front: the launcher reads the query and starts ripgrep with this module
alone, and `re` with what it pulls in is 7 ms of that start."""

from __future__ import annotations

_XRAY = r"1-([0-9a-f]{8})-([0-9a-f]{24})"
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
            m = _compiled(_XRAY).fullmatch(text)
            if m:
                text = m.group(1) + m.group(2)
    # padding, 64/128 bits and a zero high half: the rule every reader shares
    return _normalize_trace_id(text)


def _normalize_trace_id(value: object) -> str | None:
    """`traceaudit.ids.normalize_trace_id`, imported on the first call (it imports `re`);
    the name is then bound to it, so later calls cost no import statement."""
    global _normalize_trace_id
    from traceaudit.ids import normalize_trace_id

    _normalize_trace_id = normalize_trace_id
    return normalize_trace_id(value)


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


# --- every form of one trace id -----------------------------------------------------------

_patterns: dict = {}


def _compiled(pattern: str | bytes):  # -> re.Pattern (re is not imported here)
    """A pattern compiled on first use (a grep of a plain hex id needs none: start-up time)."""
    found = _patterns.get(pattern)
    if found is None:
        import re

        found = _patterns[pattern] = re.compile(pattern)
    return found

_UUID = r"([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})"
_TRACEPARENT = r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}(?:-[0-9a-f]{2})?"
_B3 = r"([0-9a-f]{16}|[0-9a-f]{32})-[0-9a-f]{16}(?:-[01d](?:-[0-9a-f]{16})?)?"
_XRAY_ROOT = r"(?:.*\broot=)?1-([0-9a-f]{8})-([0-9a-f]{24})\b.*"
QUERY_FORMS = ("32 or 16 hex (any case, 0x allowed)", "UUID 8-4-4-4-12",
               "W3C traceparent 00-<32>-<16>-<2>", "B3 single header <trace>-<span>[-<s>]",
               "X-Ray 1-<8>-<24> or Root=1-<8>-<24>;…", "Datadog decimal (low 64 bits)")


def parse_query(text: str) -> str:
    """A trace id as a user types it, in any form above → its normal form; ValueError if none.

    An all-digit value is read as Datadog's decimal unless it is 16 or 32 digits long (then
    it is hex, as the ids written by OpenTelemetry are).
    """
    value = text.strip().lower()
    if value.isdigit() and len(value) not in (16, 32):
        found = normalize_id(value, decimal=True) if int(value) < 1 << 64 else None
    elif "-" not in value:
        found = normalize_id(value)
    elif m := _compiled(_UUID).fullmatch(value):
        found = normalize_id("".join(m.groups()))
    elif (m := _compiled(_TRACEPARENT).fullmatch(value)) or (m := _compiled(_B3).fullmatch(value)):
        found = normalize_id(m.group(1))
    elif m := _compiled(_XRAY_ROOT).fullmatch(value):
        found = normalize_id(m.group(1) + m.group(2))
    else:
        found = normalize_id(value)
    if found is None:
        raise ValueError(f"not a trace id: {text!r} (expected one of: {'; '.join(QUERY_FORMS)};"
                         " not all zero)")
    return found


def full_hex(trace_id: str) -> str:
    """The 32-hex form of a normalized id (a 64-bit id has a zero high half)."""
    return trace_id.zfill(32)


def id_forms(trace_id: str) -> dict[str, str]:
    """The literal forms a line may carry the trace in, lower case, by name."""
    full = full_hex(trace_id)
    low = full[16:]
    forms = {"hex32": full, "hex16": low, "decimal": str(int(low, 16)),
             "uuid": f"{full[:8]}-{full[8:12]}-{full[12:16]}-{full[16:20]}-{full[20:]}",
             "xray": f"1-{full[:8]}-{full[8:]}"}
    if len(trace_id) == 16:  # a 64-bit id: its 32-hex and UUID forms are the zero-padded ones
        forms["hex32"] = "0" * 16 + low
    return forms


def rg_literals(trace_id: str) -> list[str]:
    """Fixed strings (searched case-insensitively), one of which every line carrying the trace
    holds: the last 12 hex digits of its low half, which end its 32- and 16-hex, unpadded
    (Jaeger), UUID and X-Ray spellings alike, and the low half's decimal (Datadog)."""
    hexed, decimal = search_literals(trace_id)
    return [hexed[-12:], decimal]


class FormMatcher:
    """Which form of one trace id a raw line carries, with boundaries (a longer hex run or
    number holding the digits is another id). The literals are found first (a plain byte
    search) and the forms checked around them only: a 10 MB line costs milliseconds."""

    def __init__(self, trace_id: str) -> None:
        import re

        self.trace_id = trace_id
        forms = id_forms(trace_id)
        stripped = forms["hex16"].lstrip("0")
        parts = [
            ("uuid", re.escape(forms["uuid"])),
            ("xray", re.escape(forms["xray"])),
            ("hex32", r"(?<![0-9a-f])(?:0x)?" + forms["hex32"] + r"(?![0-9a-f])"),
            ("hex16", r"(?<![0-9a-f])(?:0x)?0*" + stripped + r"(?![0-9a-f])"),
            ("decimal", r"(?<![0-9])" + forms["decimal"] + r"(?![0-9])"),
        ]
        if len(trace_id) == 16:  # a 64-bit query matches any 128-bit id with this low half
            low = forms["hex16"]
            parts[:3] = [
                ("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-" + low[:4] + "-" + low[4:]),
                ("xray", r"1-[0-9a-f]{8}-[0-9a-f]{8}" + low),
                ("hex32", r"(?<![0-9a-f])(?:0x)?[0-9a-f]{16}" + low + r"(?![0-9a-f])"),
            ]
        self._names = [name for name, _ in parts]
        self._re = re.compile("|".join(f"({p})" for _, p in parts).encode())
        self._literals = [lit.lower().encode() for lit in rg_literals(trace_id)]

    def form(self, raw: bytes) -> str | None:
        """The form found in `raw` (the first one around the first literal), or None."""
        low = raw.lower()
        search = self._re.search
        for lit in self._literals:
            at = low.find(lit)
            while at >= 0:
                # every form ends with its literal, and starts at most 40 bytes before it;
                # the pattern's look-behind sees the bytes before the window too
                m = search(low, max(0, at - 40), min(len(low), at + len(lit) + 8))
                if m is not None:
                    return self._names[m.lastindex - 1]  # type: ignore[operator]
                at = low.find(lit, at + 1)
        return None


# Index tokens: hex runs of 16..32 digits (32/16 hex, X-Ray's 24, B3, traceparent parts),
# UUIDs, and decimals (Datadog): after a `trace_id` key, or any run of 17-20 digits (a random
# 64-bit id has 17+ digits 99.9% of the time). Posted by their low 64 bits.
_TOKENS = (
    rb"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-([0-9a-fA-F]{4})-"
    rb"([0-9a-fA-F]{12})|([0-9a-fA-F]{16,32}))(?![0-9a-fA-F])"
    rb"|[tT]race_?[iI][dD]\W{1,4}(\d{1,20})(?![0-9A-Za-z])"
)


def token_keys(data: bytes):
    """(position, index key) of every id-like token in `data`, in order."""
    for m in _compiled(_TOKENS).finditer(data):
        a, b, run, dec = m.groups()
        if run is not None:
            low = int(run[-16:], 16)
            if len(run) >= 17 and run.isdigit() and int(run) < 1 << 64:
                yield m.start(), int(run) - (1 << 63)  # maybe a Datadog decimal id
        elif a is not None:
            low = int(a + b, 16)
        else:
            low = int(dec)
            if low >= 1 << 64:
                continue
        if low:
            yield m.start(), low - (1 << 63)
