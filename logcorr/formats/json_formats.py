"""JSON formats: one object a line. The specific shapes first, the generic reader last."""

from __future__ import annotations

from logcorr import jsonline
from logcorr.formats.common import (
    LEVEL_KEYS,
    MESSAGE_KEYS,
    SERVICE_KEYS,
    SPAN_PATHS,
    STRUCTURE_KEYS,
    TIME_KEYS,
    TRACE_PATHS,
    Format,
    find_id,
    first,
    normalize_level,
)
from logcorr.ids import normalize_id
from logcorr.record import Record
from logcorr.timestamps import parse_timestamp


def _text(value: object) -> str:
    if value is None:
        return ""
    return jsonline.dumps(value) if isinstance(value, dict | list) else str(value)


class GenericJson(Format):
    """structlog, python-json-logger (+ OTel), ECS, Datadog, pino, zap, bunyan, GCP…: the id,
    time, level and message found by their usual keys, the file's detected id key first."""

    name = "json"
    kind = "json"
    example = ('{"timestamp":"2026-11-25T10:00:00Z","level":"info","service":"order",'
               '"event":"hi","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",'
               '"span_id":"00f067aa0ba902b7"}')

    def parse(self, obj, fmt, file, line, offset):
        trace_id, fmt.trace_path = find_id(obj, TRACE_PATHS, fmt.trace_path)
        span_id, fmt.span_path = find_id(obj, SPAN_PATHS, fmt.span_path)
        ts_us, assumed = parse_timestamp(first(obj, TIME_KEYS), fmt.zone)
        level = first(obj, LEVEL_KEYS)
        message = first(obj, MESSAGE_KEYS)
        return Record(
            ts_us=ts_us, service=str(first(obj, SERVICE_KEYS) or fmt.service),
            level=normalize_level(level) if level is not None else "",
            message=_text(message), trace_id=trace_id, span_id=span_id, file=file, line=line,
            offset=offset, fields={k: v for k, v in obj.items() if k not in STRUCTURE_KEYS},
            zone_assumed=assumed, format=self.name,
        )


_CLEF_LEVELS = {"verbose": "trace", "information": "info", "warning": "warning"}


class Clef(Format):
    """Serilog's Compact Log Event Format: `@t`, `@mt`/`@m`, `@l` (absent = Information),
    `@x`, `@tr`, `@sp`; the message template's `{Name}` holes filled from the properties."""

    name = "clef"
    kind = "json"
    example = ('{"@t":"2026-11-25T10:00:00.1234567Z","@mt":"Paid {OrderId}","OrderId":42,'
               '"@tr":"4bf92f3577b34da6a3ce929d0e0e4736","@sp":"00f067aa0ba902b7",'
               '"Application":"payment"}')

    def parse(self, obj, fmt, file, line, offset):
        if "@t" not in obj or not ("@mt" in obj or "@m" in obj):
            return None
        ts_us, assumed = parse_timestamp(obj.get("@t"), fmt.zone)
        message = obj.get("@m")
        if message is None:
            message = _fill(str(obj.get("@mt", "")), obj)
        level = str(obj.get("@l") or "Information").lower()
        fields = {k: v for k, v in obj.items() if not k.startswith("@") or k == "@x"}
        return Record(
            ts_us=ts_us, service=str(obj.get("Application") or fmt.service),
            level=_CLEF_LEVELS.get(level, normalize_level(level)), message=str(message),
            trace_id=normalize_id(obj.get("@tr")), span_id=normalize_id(obj.get("@sp")),
            file=file, line=line, offset=offset, fields=fields, zone_assumed=assumed,
            format=self.name,
        )


def _fill(template: str, props: dict) -> str:
    """`Paid {OrderId}` with OrderId=42 → `Paid 42` (`{@X}`, `{X:fmt}` tolerated)."""
    out, i = [], 0
    while (start := template.find("{", i)) >= 0:
        end = template.find("}", start)
        if end < 0:
            break
        name = template[start + 1:end].lstrip("@$").split(":")[0].split(",")[0]
        out.append(template[i:start])
        out.append(_text(props[name]) if name in props else template[start:end + 1])
        i = end + 1
    out.append(template[i:])
    return "".join(out)


_SEVERITY = ((21, "fatal"), (17, "error"), (13, "warning"), (9, "info"), (5, "debug"),
             (1, "trace"))


def _otlp_value(value: object) -> object:
    """An OTLP AnyValue (`{"stringValue": "x"}`, `{"intValue": "3"}`…) → a plain value."""
    if not isinstance(value, dict):
        return value
    for key, found in value.items():
        if key == "kvlistValue":
            return {kv.get("key"): _otlp_value(kv.get("value")) for kv in found.get("values", [])}
        if key == "arrayValue":
            return [_otlp_value(v) for v in found.get("values", [])]
        return found
    return None


def _attributes(items: object) -> dict:
    if not isinstance(items, list):
        return {}
    return {kv.get("key"): _otlp_value(kv.get("value")) for kv in items if isinstance(kv, dict)}


class OtlpLogs(Format):
    """OTLP JSON logs as the OpenTelemetry Collector's file exporter writes them: one line a
    batch, `resourceLogs[].scopeLogs[].logRecords[]` with hex `traceId`, `timeUnixNano`."""

    name = "otlp-json"
    kind = "json"
    example = ('{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":'
               '{"stringValue":"cart"}}]},"scopeLogs":[{"scope":{},"logRecords":[{'
               '"timeUnixNano":"1795600800000000000","severityNumber":9,"severityText":"INFO",'
               '"body":{"stringValue":"hi"},"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",'
               '"spanId":"00f067aa0ba902b7"}]}]}]}')

    def parse(self, obj, fmt, file, line, offset):
        batches = obj.get("resourceLogs")
        if not isinstance(batches, list):
            return None
        out: list[Record] = []
        for batch in batches:
            resource = _attributes((batch.get("resource") or {}).get("attributes"))
            service = str(resource.get("service.name") or fmt.service)
            for scope in batch.get("scopeLogs") or batch.get("instrumentationLibraryLogs") or []:
                for rec in scope.get("logRecords") or []:
                    out.append(self._record(rec, service, fmt, file, line, offset))
        return out

    def _record(self, rec: dict, service: str, fmt, file: str, line: int, offset: int):
        ts_us, _ = parse_timestamp(rec.get("timeUnixNano") or rec.get("observedTimeUnixNano"))
        level = rec.get("severityText")
        if not level:
            number = int(rec.get("severityNumber") or 0)
            level = next((name for floor, name in _SEVERITY if number >= floor), "")
        return Record(
            ts_us=ts_us or None, service=service, level=normalize_level(level) if level else "",
            message=_text(_otlp_value(rec.get("body"))), trace_id=normalize_id(rec.get("traceId")),
            span_id=normalize_id(rec.get("spanId")), file=file, line=line, offset=offset,
            fields=_attributes(rec.get("attributes")), format=self.name,
        )


class AspNetJson(Format):
    """ASP.NET Core's JSON console formatter: `LogLevel`, `Category`, `Message`, `State`, the
    ids in `Scopes[]` (`TraceId`, `SpanId`), `Timestamp` when a format is set."""

    name = "aspnet-json"
    kind = "json"
    example = ('{"Timestamp":"2026-11-25T10:00:00.000Z","EventId":0,"LogLevel":"Information",'
               '"Category":"Shop.Orders","Message":"hi","State":{"Message":"hi"},"Scopes":['
               '{"Message":"SpanId:00f067aa0ba902b7, TraceId:4bf92f3577b34da6a3ce929d0e0e4736",'
               '"SpanId":"00f067aa0ba902b7","TraceId":"4bf92f3577b34da6a3ce929d0e0e4736",'
               '"ParentId":"0000000000000000"}]}')

    def parse(self, obj, fmt, file, line, offset):
        if "LogLevel" not in obj or "Category" not in obj:
            return None
        trace_id = span_id = None
        for scope in obj.get("Scopes") or []:
            if isinstance(scope, dict):
                trace_id = trace_id or normalize_id(scope.get("TraceId"))
                span_id = span_id or normalize_id(scope.get("SpanId"))
        ts_us, assumed = parse_timestamp(obj.get("Timestamp"), fmt.zone)
        return Record(
            ts_us=ts_us, service=fmt.service, level=normalize_level(obj["LogLevel"]),
            message=_text(obj.get("Message")), trace_id=trace_id, span_id=span_id, file=file,
            line=line, offset=offset,
            fields={"category": obj["Category"], **({"exception": obj["Exception"]}
                                                   if obj.get("Exception") else {})},
            zone_assumed=assumed, format=self.name,
        )


class DockerJsonFile:
    """Docker's json-file driver: `{"log": "<the line>\\n", "stream": "stdout", "time": …}`,
    unwrapped: the inner line is parsed by the other formats, `time` when it has none."""

    name = "docker-json"
    kind = "wrapper"
    example = ('{"log":"2026-11-25T10:00:00Z INFO trace_id=4bf92f3577b34da6a3ce929d0e0e4736 '
               'hi\\n","stream":"stdout","time":"2026-11-25T10:00:00.000000001Z"}')

    def unwrap(self, obj: dict) -> tuple[bytes, object] | None:
        inner = obj.get("log")
        if not isinstance(inner, str) or "stream" not in obj:
            return None
        return inner.rstrip("\r\n").encode("utf-8", "surrogatepass"), obj.get("time")
