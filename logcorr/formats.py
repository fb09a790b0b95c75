"""One log line to one `Record`: JSON (structlog, python-json-logger, ECS, Datadog, OTLP-ish)
and text (OTel logging, logfmt, Spring/Micrometer/Sleuth), with the id fields detected per file."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, tzinfo

from logcorr import jsonline
from logcorr.ids import normalize_id
from logcorr.timestamps import parse_timestamp

ERROR_LEVELS = frozenset({"error", "critical", "fatal", "exception", "alert", "emergency"})


# Plain classes with __slots__, not dataclasses: `dataclasses` imports `inspect` (~12 ms), a
# quarter of an indexed grep's whole run.
class Record:
    """One log record: its first line plus any continuation lines (a traceback)."""

    __slots__ = ("ts_us", "service", "level", "message", "trace_id", "span_id", "file", "line",
                 "offset", "raw", "extra", "fields", "zone_assumed")

    def __init__(
        self, ts_us: int | None, service: str, level: str, message: str, trace_id: str | None,
        span_id: str | None, file: str, line: int, offset: int = 0, raw: str = "",
        extra: list[str] | None = None, fields: dict[str, object] | None = None,
        zone_assumed: bool = False,
    ) -> None:
        self.ts_us = ts_us
        self.service = service
        self.level = level
        self.message = message
        self.trace_id = trace_id
        self.span_id = span_id
        self.file = file
        self.line = line
        self.offset = offset
        self.raw = raw
        self.zone_assumed = zone_assumed
        self.extra = [] if extra is None else extra
        self.fields = {} if fields is None else fields

    def __repr__(self) -> str:
        return (f"Record({self.file}:{self.line} {self.ts_us} {self.service} {self.level} "
                f"{self.message!r} trace={self.trace_id} span={self.span_id})")

    @property
    def error(self) -> bool:
        """An error-level line, or one carrying an exception or a traceback."""
        return (
            self.level in ERROR_LEVELS
            or any(k in self.fields for k in ("exc_info", "exception", "stack_trace", "exc_text"))
            or any(x.lstrip().startswith(("Traceback", "Caused by", "at ")) for x in self.extra)
        )


# --- JSON ---------------------------------------------------------------------------------

def _after(sep: str, index: int):
    def pick(value: object) -> str | None:
        parts = str(value).split(sep)
        return parts[index] if len(parts) > index else None

    return pick


def _gcp(value: object) -> str:
    return str(value).rsplit("/", 1)[-1]


# (path in the object, converter of the raw value, decimal allowed). The first is the default.
# JSON values are typed `object` here: `typing` stays off an indexed grep's imports.
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
]
_SERVICE_KEYS = [("service",), ("service.name",), ("service", "name"), ("otelServiceName",),
                 ("dd.service",), ("dd", "service"), ("resource.service.name",), ("app",),
                 ("application",)]
_LEVEL_KEYS = [("level",), ("levelname",), ("log.level",), ("log", "level"), ("severity",),
               ("severityText",), ("lvl",), ("loglevel",)]
_MESSAGE_KEYS = [("event",), ("message",), ("msg",), ("@message",), ("body",)]
_TIME_KEYS = [("timestamp",), ("@timestamp",), ("time",), ("ts",), ("asctime",),
              ("timeUnixNano",), ("datetime",), ("date",), ("t",)]
_PINO_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "fatal"}
_LEVEL_NAMES = {"warn": "warning", "err": "error", "crit": "critical", "eror": "error",
                "dbug": "debug", "information": "info"}
_STRUCTURE_KEYS = {k[0] for paths in (TRACE_PATHS, SPAN_PATHS) for k, _, _ in paths}
_STRUCTURE_KEYS |= {k[0] for keys in (_SERVICE_KEYS, _LEVEL_KEYS, _MESSAGE_KEYS, _TIME_KEYS)
                    for k in keys}


def _get(obj: dict, path: tuple[str, ...]) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
        if value is None:
            return None
    return value


def _first(obj: dict, keys: list[tuple[str, ...]]) -> object:
    """The first scalar value at one of the paths (`service` may be ECS's `{"name": …}`)."""
    for path in keys:
        value = _get(obj, path)
        if value is not None and value != "" and not isinstance(value, dict | list):
            return value
    return None


def _id_at(obj: dict, spec: IdPath) -> str | None:
    path, convert, decimal = spec
    value = _get(obj, path)
    if value is None:
        return None
    if convert is not None:
        value = convert(value)
    return normalize_id(value, decimal=decimal)


def _find_id(obj: dict, paths: list[IdPath], preferred: int) -> tuple[str | None, int]:
    """The id at the file's detected path, falling back to every other known path."""
    found = _id_at(obj, paths[preferred])
    if found is not None:
        return found, preferred
    for i, spec in enumerate(paths):
        if i != preferred:
            found = _id_at(obj, spec)
            if found is not None:
                return found, i
    return None, preferred


def normalize_level(value: object) -> str:
    if isinstance(value, int):
        return _PINO_LEVELS.get(value, str(value))
    text = str(value).strip().lower()
    return _LEVEL_NAMES.get(text, text)


# --- text ---------------------------------------------------------------------------------

# Patterns of text formats, compiled on first use: JSON logs (and an indexed grep of them)
# never need them, and compiling them all costs a few ms of every start.
_compiled = functools.cache(re.compile)
_TEXT_TIME = (
    r"\s*\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]?\s*"
)
_KV = r'(?<![\w.])([\w.@/-]+)=("(?:[^"\\]|\\.)*"|\S*)'
_SPRING = r"\[([\w.-]*),([0-9a-fA-F]{0,32}),([0-9a-fA-F]{0,16})(?:,\w*)?\]"
_MICROMETER = r"\[([0-9a-fA-F]{16,32})-([0-9a-fA-F]{16})\]"
# Boot 3.2+: `--- [app] [thread] [trace-span]` (the app bracket is there when the name is set)
_APP_BRACKET = r"---\s+\[\s*([\w.-]+)\]\s+\[[^\]]*\]\s+\[[0-9a-fA-F]{16,32}-"
_TRACEPARENT = r"\b00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}\b"
_LEVEL_WORD = r"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b"
_TEXT_TRACE_KEYS = ("trace_id", "traceID", "traceId", "trace.id", "otelTraceID", "X-B3-TraceId")
_TEXT_SPAN_KEYS = ("span_id", "spanID", "spanId", "span.id", "otelSpanID", "X-B3-SpanId")
_CONTINUATION = (
    r"\s|Traceback \(|Caused by|During handling|The above exception|\.\.\. \d+ more"
    r"|[\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b"
)


def is_continuation(text: str) -> bool:
    """A line that belongs to the record above it (a traceback or a Java stack trace)."""
    return bool(text) and _compiled(_CONTINUATION).match(text) is not None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


# --- a file's format ----------------------------------------------------------------------

class FileFormat:
    """What sampling a file's first lines taught: JSON or text, and which id fields it uses."""

    __slots__ = ("kind", "trace_path", "span_path", "service", "zone", "decimal_ids")

    def __init__(
        self, kind: str = "json", trace_path: int = 0, span_path: int = 0, service: str = "",
        zone: tzinfo = UTC, decimal_ids: bool = False,
    ) -> None:
        self.kind = kind  # "json" | "text"
        self.trace_path, self.span_path = trace_path, span_path
        self.service = service  # fallback service name (the file's stem)
        self.zone = zone
        self.decimal_ids = decimal_ids  # Datadog's decimal ids seen (JSON or `dd.trace_id=`)

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileFormat) and self._values() == other._values()

    def __repr__(self) -> str:
        return "FileFormat(" + ", ".join(
            f"{name}={value!r}" for name, value in zip(self.__slots__, self._values(), strict=True)
        ) + ")"

    def dumps(self) -> str:
        """What sniffing found, as the index keeps it (id paths by name, not position)."""
        return jsonline.dumps({"kind": self.kind, "trace": TRACE_PATHS[self.trace_path][0],
                               "span": SPAN_PATHS[self.span_path][0],
                               "decimal": self.decimal_ids})

    @classmethod
    def loads(cls, text: str, service: str, zone: tzinfo = UTC) -> FileFormat | None:
        """The format `dumps` wrote; None if it names an id path this version does not know."""
        try:
            found = jsonline.loads(text)
            trace = [path for path, _, _ in TRACE_PATHS].index(tuple(found["trace"]))
            span = [path for path, _, _ in SPAN_PATHS].index(tuple(found["span"]))
            return cls(kind=found["kind"], trace_path=trace, span_path=span, service=service,
                       zone=zone, decimal_ids=bool(found["decimal"]))
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def trace_key(self) -> str | None:
        """The flat JSON key of the trace id, when the file uses one (for fast indexing)."""
        path, convert, decimal = TRACE_PATHS[self.trace_path]
        if self.kind == "json" and len(path) == 1 and convert is None and not decimal:
            return path[0]
        return None


BROKEN = "broken"
CONTINUATION = "continuation"
BLANK = "blank"


def detect_format(sample: list[bytes], service: str, zone: tzinfo = UTC) -> FileFormat:
    """Sample lines → the file's format, trace-id path and span-id path (the most used ones)."""
    fmt = FileFormat(service=service, zone=zone)
    json_lines = text_lines = 0
    trace_hits: dict[int, int] = {}
    span_hits: dict[int, int] = {}
    for raw in sample:
        raw = raw.strip()
        if not raw:
            continue
        if raw[:1] == b"{":
            try:
                obj = jsonline.loads(raw)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            json_lines += 1
            for hits, paths in ((trace_hits, TRACE_PATHS), (span_hits, SPAN_PATHS)):
                for i, spec in enumerate(paths):
                    if _id_at(obj, spec) is not None:
                        hits[i] = hits.get(i, 0) + 1
                        break
        else:
            text_lines += 1
            fmt.decimal_ids = fmt.decimal_ids or b"dd.trace_id=" in raw
    fmt.kind = "json" if json_lines >= text_lines else "text"
    if trace_hits:
        fmt.trace_path = max(trace_hits, key=trace_hits.__getitem__)
        fmt.decimal_ids = fmt.decimal_ids or TRACE_PATHS[fmt.trace_path][2]
    if span_hits:
        fmt.span_path = max(span_hits, key=span_hits.__getitem__)
    return fmt


def parse_line(
    raw: bytes, fmt: FileFormat, file: str, line: int, offset: int = 0,
    loads: jsonline.Loads = jsonline.loads,
):
    """A raw line → a `Record`, or one of `BROKEN`, `CONTINUATION`, `BLANK`. Readers of every
    line pass `loads=jsonline.bulk_loads()`."""
    stripped = raw.rstrip(b"\r\n")
    if not stripped.strip():
        return BLANK
    if b"\x00" in stripped:
        return BROKEN
    if stripped[:1] == b"{":
        try:
            obj = loads(stripped)
        except ValueError:
            return BROKEN
        if not isinstance(obj, dict):
            return BROKEN
        return _json_record(obj, stripped, fmt, file, line, offset)
    text = stripped.decode("utf-8", "replace")
    if is_continuation(text):
        return CONTINUATION
    if fmt.kind == "json" and _compiled(_TEXT_TIME).match(text) is None and "=" not in text:
        # Neither JSON nor a recognisable text record inside a JSON log: a damaged line.
        return BROKEN
    return _text_record(text, fmt, file, line, offset)


def _json_record(obj: dict, raw: bytes, fmt: FileFormat, file: str, line: int, offset: int):
    trace_id, fmt.trace_path = _find_id(obj, TRACE_PATHS, fmt.trace_path)
    span_id, fmt.span_path = _find_id(obj, SPAN_PATHS, fmt.span_path)
    ts_us, assumed = parse_timestamp(_first(obj, _TIME_KEYS), fmt.zone)
    level = _first(obj, _LEVEL_KEYS)
    message = _first(obj, _MESSAGE_KEYS)
    if isinstance(message, dict | list):
        message = jsonline.dumps(message)
    extra = {k: v for k, v in obj.items() if k not in _STRUCTURE_KEYS}
    return Record(
        ts_us=ts_us,
        service=str(_first(obj, _SERVICE_KEYS) or fmt.service),
        level=normalize_level(level) if level is not None else "",
        message="" if message is None else str(message),
        trace_id=trace_id,
        span_id=span_id,
        file=file,
        line=line,
        offset=offset,
        raw=raw.decode("utf-8", "replace"),
        fields=extra,
        zone_assumed=assumed,
    )


def _text_record(text: str, fmt: FileFormat, file: str, line: int, offset: int) -> Record:
    ts_us = None
    assumed = False
    rest = text
    m = _compiled(_TEXT_TIME).match(text)
    if m:
        ts_us, assumed = parse_timestamp(m.group(1), fmt.zone)
        rest = text[m.end():]
    kv = {k: _unquote(v) for k, v in _compiled(_KV).findall(text)}
    if ts_us is None:
        for key in ("ts", "time", "timestamp"):
            if key in kv:
                ts_us, assumed = parse_timestamp(kv[key], fmt.zone)
                break
    trace_id = span_id = None
    service = kv.get("resource.service.name") or kv.get("service") or kv.get("dd.service")
    for key in _TEXT_TRACE_KEYS:
        if key in kv:
            trace_id = normalize_id(kv[key])
            break
    else:
        if "dd.trace_id" in kv:
            trace_id = normalize_id(kv["dd.trace_id"], decimal=True)
    for key in _TEXT_SPAN_KEYS:
        if key in kv:
            span_id = normalize_id(kv[key])
            break
    else:
        if "dd.span_id" in kv:
            span_id = normalize_id(kv["dd.span_id"], decimal=True)
    if trace_id is None:
        if sm := _compiled(_SPRING).search(text):
            service = service or sm.group(1) or None
            trace_id, span_id = normalize_id(sm.group(2)), normalize_id(sm.group(3))
        elif mm := _compiled(_MICROMETER).search(text):
            trace_id, span_id = normalize_id(mm.group(1)), normalize_id(mm.group(2))
            if am := _compiled(_APP_BRACKET).search(text):
                service = service or am.group(1)
        elif tp := _compiled(_TRACEPARENT).search(text):
            trace_id, span_id = normalize_id(tp.group(1)), normalize_id(tp.group(2))
    level = kv.get("level") or kv.get("lvl")
    if level is None and (lm := _compiled(_LEVEL_WORD).search(rest)):
        level = lm.group(1)
    message = kv.get("msg") or kv.get("message")
    if message is None:
        message = _text_message(rest)
    return Record(
        ts_us=ts_us,
        service=service or fmt.service,
        level=normalize_level(level) if level else "",
        message=message,
        trace_id=trace_id,
        span_id=span_id,
        file=file,
        line=line,
        offset=offset,
        raw=text,
        zone_assumed=assumed,
    )


def _text_message(rest: str) -> str:
    """The human part of a text line: after Spring's ` : ` or Python's `] - ` / ` - `."""
    for sep in ("] - ", " : ", " - "):
        head, found, tail = rest.partition(sep)
        if found:
            return tail.strip()
    return rest.strip()
