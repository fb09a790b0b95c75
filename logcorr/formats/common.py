"""What the formats share: id field paths, key lookups, levels, and the `Format` protocol."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from logcorr.ids import normalize_id
from logcorr.record import Record

# Patterns compiled on first use: JSON logs (and an indexed grep of them) never need most.
compiled = functools.cache(re.compile)


class Format:
    """One log format: `parse` reads one line (a JSON object for `kind == "json"`, text for
    `"text"`) into a `Record`, a list of them (a batch line), or None when the line is not of
    this format. `fmt` is what sniffing the file found (`FileFormat`: service fallback, zone,
    preferred id fields). `example` is a line of it, shown in the README and tested."""

    name = ""
    kind = "text"
    example = ""

    def parse(self, value, fmt, file: str, line: int, offset: int
              ) -> Record | list[Record] | None:  # pragma: no cover - the protocol
        raise NotImplementedError


# --- JSON keys --------------------------------------------------------------------------------

def _after(sep: str, index: int):
    def pick(value: object) -> str | None:
        parts = str(value).split(sep)
        return parts[index] if len(parts) > index else None

    return pick


def _gcp(value: object) -> str:
    return str(value).rsplit("/", 1)[-1]


def _uuid(value: object) -> str:
    """`req-<uuid>` (OpenStack) or a bare UUID → its 32 hex digits."""
    text = str(value)
    return text[4:].replace("-", "") if text.startswith("req-") else text.replace("-", "")


# (path in the object, converter of the raw value, decimal allowed). The first is the default.
IdPath = tuple[tuple[str, ...], Callable[[object], str | None] | None, bool]
TRACE_PATHS: list[IdPath] = [
    (("trace_id",), None, False),
    (("traceId",), None, False),
    (("traceID",), None, False),
    (("otelTraceID",), None, False),
    (("trace.id",), None, False),
    (("trace", "id"), None, False),
    (("dd.trace_id",), None, True),
    (("dd", "trace_id"), None, True),
    (("traceparent",), _after("-", 1), False),
    (("logging.googleapis.com/trace",), _gcp, False),
    (("X-B3-TraceId",), None, False),
    (("b3",), _after("-", 0), False),
    (("uber-trace-id",), _after(":", 0), False),
    (("@tr",), None, False),  # Serilog CLEF
    (("TraceId",), None, False),  # .NET
    (("request_id",), _uuid, False),  # OpenStack oslo.log JSON
]
SPAN_PATHS: list[IdPath] = [
    (("span_id",), None, False),
    (("spanId",), None, False),
    (("spanID",), None, False),
    (("otelSpanID",), None, False),
    (("span.id",), None, False),
    (("span", "id"), None, False),
    (("dd.span_id",), None, True),
    (("dd", "span_id"), None, True),
    (("traceparent",), _after("-", 2), False),
    (("logging.googleapis.com/spanId",), None, False),
    (("X-B3-SpanId",), None, False),
    (("b3",), _after("-", 1), False),
    (("uber-trace-id",), _after(":", 1), False),
    (("@sp",), None, False),
    (("SpanId",), None, False),
]
SERVICE_KEYS = [("service",), ("service.name",), ("service", "name"), ("otelServiceName",),
                ("dd.service",), ("dd", "service"), ("resource.service.name",), ("app",),
                ("application",), ("Application",), ("kubernetes", "container_name")]
LEVEL_KEYS = [("level",), ("levelname",), ("log.level",), ("log", "level"), ("severity",),
              ("severityText",), ("lvl",), ("loglevel",), ("status",), ("@l",), ("LogLevel",),
              ("Level",)]
MESSAGE_KEYS = [("event",), ("message",), ("msg",), ("@message",), ("body",), ("@m",),
                ("Message",), ("log",)]
TIME_KEYS = [("timestamp",), ("@timestamp",), ("time",), ("ts",), ("asctime",),
             ("timeUnixNano",), ("datetime",), ("date",), ("t",), ("created",), ("@t",),
             ("Timestamp",), ("epoch",)]
_PINO_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "fatal"}
_LEVEL_NAMES = {"warn": "warning", "err": "error", "crit": "critical", "eror": "error",
                "dbug": "debug", "information": "info", "verbose": "trace", "trce": "trace",
                "fatal": "fatal", "emerg": "emergency", "notice": "info", "alert": "alert",
                "warning": "warning", "fail": "error", "crit_": "critical"}
STRUCTURE_KEYS = {k[0] for paths in (TRACE_PATHS, SPAN_PATHS) for k, _, _ in paths}
STRUCTURE_KEYS |= {k[0] for keys in (SERVICE_KEYS, LEVEL_KEYS, MESSAGE_KEYS, TIME_KEYS)
                   for k in keys}


def get(obj: dict, path: tuple[str, ...]) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
        if value is None:
            return None
    return value


def first(obj: dict, keys: list[tuple[str, ...]]) -> object:
    """The first scalar value at one of the paths (`service` may be ECS's `{"name": …}`)."""
    for path in keys:
        value = get(obj, path)
        if value is not None and value != "" and not isinstance(value, dict | list):
            return value
    return None


def id_at(obj: dict, spec: IdPath) -> str | None:
    path, convert, decimal = spec
    value = get(obj, path)
    if value is None:
        return None
    if convert is not None:
        value = convert(value)
    return normalize_id(value, decimal=decimal)


def find_id(obj: dict, paths: list[IdPath], preferred: int) -> tuple[str | None, int]:
    """The id at the file's detected path, falling back to every other known path."""
    found = id_at(obj, paths[preferred])
    if found is not None:
        return found, preferred
    for i, spec in enumerate(paths):
        if i != preferred:
            found = id_at(obj, spec)
            if found is not None:
                return found, i
    return None, preferred


def normalize_level(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _PINO_LEVELS.get(value, str(value))
    text = str(value).strip().lower()
    return _LEVEL_NAMES.get(text, text)


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def http_level(status: str | None) -> str:
    """An access log line's level from its HTTP status: 5xx error, 4xx warning."""
    if status and status[:1] == "5":
        return "error"
    if status and status[:1] == "4":
        return "warning"
    return "info"


# Ids written anywhere in a text line (a message, a header dump), tried when no field has one.
_ANYWHERE = (
    r"(?i)(?:\broot=)?\b1-([0-9a-f]{8})-([0-9a-f]{24})\b"  # X-Ray
    r"|\b[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\b"  # traceparent
    r"|(?<![0-9a-f])([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\b"
    r"|(?<![0-9a-f])([0-9a-f]{32})(?![0-9a-f])"
)


def id_anywhere(text: str) -> str | None:
    """A trace id written anywhere in free text: X-Ray, traceparent, UUID, 32 hex."""
    m = compiled(_ANYWHERE).search(text)
    if m is None:
        return None
    g = m.groups()
    if g[0]:
        return normalize_id(g[0] + g[1])
    if g[2]:
        return normalize_id(g[2])
    if g[3]:
        return normalize_id("".join(g[3:8]))
    return normalize_id(g[8])
