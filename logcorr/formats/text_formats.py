"""Text formats. Each specific one is a regex and a few lines; the generic reader (ISO time
first, key=value pairs, Spring/Micrometer brackets, ids anywhere) takes what they leave."""

from __future__ import annotations

from logcorr.formats.common import (
    Format,
    compiled,
    http_level,
    id_anywhere,
    normalize_level,
    unquote,
)
from logcorr.ids import normalize_id
from logcorr.record import Record
from logcorr.timestamps import parse_bsd, parse_clf, parse_ctime, parse_timestamp

KV = r'(?<![\w.])([\w.@/-]+)=("(?:[^"\\]|\\.)*"|\S*)'
TEXT_TIME = r"\s*\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]?\s*"
_SPRING = r"\[([\w.-]*),([0-9a-fA-F]{0,32}),([0-9a-fA-F]{0,16})(?:,\w*)?\]"
_MICROMETER = r"\[([0-9a-fA-F]{16,32})-([0-9a-fA-F]{16})\]"
# Boot 3.2+: `--- [app] [thread] [trace-span]` (the app bracket is there when the name is set)
_APP_BRACKET = r"---\s+\[\s*([\w.-]+)\]\s+\[[^\]]*\]\s+\[[0-9a-fA-F]{16,32}-"
_TRACEPARENT = r"\b00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}\b"
_LEVEL_WORD = r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)\b"
_TRACE_KEYS = ("trace_id", "traceID", "traceId", "trace.id", "otelTraceID", "X-B3-TraceId",
               "TraceId", "trace")
_SPAN_KEYS = ("span_id", "spanID", "spanId", "span.id", "otelSpanID", "X-B3-SpanId", "SpanId")


def _record(fmt, file, line, offset, text, name, search: str | None = None, **kw) -> Record:
    """A text record; without a trace id from a field, one written anywhere in `search` (the
    part of the line a format leaves free: all of it by default)."""
    kw.setdefault("service", fmt.service)
    kw.setdefault("level", "")
    kw.setdefault("span_id", None)
    if kw.get("trace_id") is None:
        kw["trace_id"] = id_anywhere(text if search is None else search)
    return Record(file=file, line=line, offset=offset, raw=text, format=name, **kw)


class GenericText(Format):
    """OTel logging's text format, logfmt, Spring Boot/Micrometer/Sleuth, Datadog's text
    pattern (`dd.trace_id=<decimal>`), log4j (Hadoop, Zookeeper), and any line with an id in
    it: an ISO time at the start, `key=value` pairs, the usual id brackets, ids anywhere."""

    name = "text"
    example = ("2026-11-25 10:00:00,000 INFO [app] [dd.service=order dd.trace_id="
               "11803532876627986230 dd.span_id=67667974448284343] - hi")

    def parse(self, text, fmt, file, line, offset):
        ts_us = None
        assumed = False
        rest = text
        m = compiled(TEXT_TIME).match(text)
        if m:
            ts_us, assumed = parse_timestamp(m.group(1), fmt.zone)
            rest = text[m.end():]
        kv = {k: unquote(v) for k, v in compiled(KV).findall(text)} if "=" in text else {}
        if ts_us is None:
            for key in ("ts", "time", "timestamp"):
                if key in kv:
                    ts_us, assumed = parse_timestamp(kv[key], fmt.zone)
                    break
        trace_id = span_id = None
        service = kv.get("resource.service.name") or kv.get("service") or kv.get("dd.service")
        for key in _TRACE_KEYS:
            if key in kv:
                trace_id = normalize_id(kv[key])
                break
        else:
            if "dd.trace_id" in kv:
                trace_id = normalize_id(kv["dd.trace_id"], decimal=True)
        for key in _SPAN_KEYS:
            if key in kv:
                span_id = normalize_id(kv[key])
                break
        else:
            if "dd.span_id" in kv:
                span_id = normalize_id(kv["dd.span_id"], decimal=True)
        if trace_id is None:
            if sm := compiled(_SPRING).search(text):
                service = service or sm.group(1) or None
                trace_id, span_id = normalize_id(sm.group(2)), normalize_id(sm.group(3))
            elif mm := compiled(_MICROMETER).search(text):
                trace_id, span_id = normalize_id(mm.group(1)), normalize_id(mm.group(2))
                if am := compiled(_APP_BRACKET).search(text):
                    service = service or am.group(1)
            elif tp := compiled(_TRACEPARENT).search(text):
                trace_id, span_id = normalize_id(tp.group(1)), normalize_id(tp.group(2))
        level = kv.get("level") or kv.get("lvl") or kv.get("severity")
        if level is None and (lm := compiled(_LEVEL_WORD).search(rest)):
            level = lm.group(1)
        message = kv.get("msg") or kv.get("message")
        if message is None:
            message = _text_message(rest)
        return _record(fmt, file, line, offset, text, self.name, ts_us=ts_us,
                       service=service or fmt.service,
                       level=normalize_level(level) if level else "", message=message,
                       trace_id=trace_id, span_id=span_id, zone_assumed=assumed)


def _text_message(rest: str) -> str:
    """The human part of a text line: after Spring's ` : ` or Python's `] - ` / ` - `."""
    for sep in ("] - ", " : ", " - "):
        head, found, tail = rest.partition(sep)
        if found:
            return tail.strip()
    return rest.strip()


class RegexFormat(Format):
    """A text format as one regex with named groups: `time` (read by `clock`), `service`,
    `level`, `status` (an HTTP status: the level), `message`, `trace` (any id form)."""

    def __init__(self, name: str, pattern: str, clock, example: str, doc: str) -> None:
        self.name, self.pattern, self.clock, self.example = name, pattern, clock, example
        self.__doc__ = doc

    def parse(self, text, fmt, file, line, offset):
        m = compiled(self.pattern).match(text)
        if m is None:
            return None
        g = m.groupdict()
        ts_us, assumed = self.clock(g["time"], fmt.zone) if g.get("time") else (None, False)
        level = g.get("level")
        if level is not None:
            level = _syslog_level(level) if level.isdigit() else normalize_level(level)
        else:
            level = http_level(g.get("status"))
        trace = g.get("trace")
        trace_id = id_anywhere(trace) if trace else None
        kv = {k: unquote(v) for k, v in compiled(KV).findall(g.get("rest") or "")}
        if trace_id is None:
            for key in _TRACE_KEYS:
                if key in kv:
                    trace_id = normalize_id(kv[key])
                    break
        return _record(fmt, file, line, offset, text, self.name,
                       search=(g.get("rest") or "") + " " + (g.get("message") or ""), ts_us=ts_us,
                       service=g.get("service") or fmt.service, level=level or "",
                       message=(g.get("message") or "").strip(), trace_id=trace_id,
                       span_id=normalize_id(kv.get("span_id") or kv.get("spanId")),
                       zone_assumed=assumed)


def _syslog_level(pri: str) -> str:
    return ("emergency", "alert", "critical", "error", "warning", "info", "info",
            "debug")[int(pri) % 8]


# Clocks: the time group's text and the file's zone → (µs, whether the zone was assumed)
def _clf(text, zone):
    return parse_clf(text), False


def _bsd(text, zone):
    return parse_bsd(" ".join(text.split()), zone), True


def _ctime(text, zone):
    return parse_ctime(text, zone), True


_CLF = (r'(?P<client>\S+) \S+ \S+ \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)? '
        r'[+-]\d{4})\] "(?P<message>[^"]*)" (?P<status>\d{3}|-) \S+')
TEXT_FORMATS: list[Format] = [
    RegexFormat(
        "syslog-5424",
        r"<(?P<level>\d{1,3})>1 (?P<time>\S+) \S+ (?P<service>\S+) \S+ \S+ "
        r"(?P<rest>-|(?:\[.*?\])+) ?(?P<message>.*)",
        parse_timestamp,
        '<165>1 2026-11-25T10:00:00.000Z host1 order 1234 ID47 [trace@32473 trace_id='
        '"4bf92f3577b34da6a3ce929d0e0e4736" span_id="00f067aa0ba902b7"] hi',
        "syslog RFC 5424: PRI (level), ISO time, app name (service), structured data.",
    ),
    RegexFormat(
        "syslog-3164",
        r"(?:<(?P<level>\d{1,3})>)?(?P<time>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) \S+ "
        r"(?P<service>[\w./-]+)(?:\[\d+\])?: (?P<message>(?P<rest>.*))",
        _bsd,
        "<34>Nov 25 10:00:00 host1 order[1234]: trace_id=4bf92f3577b34da6a3ce929d0e0e4736 hi",
        "syslog RFC 3164 (BSD, /var/log/syslog, messages): no year and no zone (--tz).",
    ),
    RegexFormat(
        "clf",
        _CLF + r'(?: "[^"]*" "[^"]*")?(?P<rest>.*)',
        _clf,
        '10.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET /orders HTTP/1.1" 200 512 "-" '
        '"curl/8.5" 4bf92f3577b34da6a3ce929d0e0e4736',
        "nginx/Apache common and combined logs, with `$request_id` or a traceparent after.",
    ),
    RegexFormat(
        "aws-alb",
        r'(?:https?|h2|grpcs|wss?) (?P<time>\d{4}-\d\d-\d\dT\S+) (?P<service>\S+) \S+ \S+ '
        r'\S+ \S+ \S+ (?P<status>\d{3}|-) \S+ \S+ \S+ "(?P<message>[^"]*)" "[^"]*" \S+ \S+ '
        r'\S+ "(?P<trace>[^"]*)"(?P<rest>.*)',
        parse_timestamp,
        'https 2026-11-25T10:00:00.000000Z app/shop-lb/50dc6c495c0c9188 10.0.0.1:4242 '
        '10.0.1.2:80 0.000 0.012 0.000 200 200 34 366 "GET https://shop:443/orders HTTP/1.1" '
        '"curl/8.5" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1'
        ':1:targetgroup/t/1 "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736" "shop" "-" 0 '
        '2026-11-25T10:00:00.000000Z "forward" "-" "-" "10.0.1.2:80" "200" "-" "-"',
        "AWS Application Load Balancer access logs: the X-Ray `Root=1-…` id.",
    ),
    RegexFormat(
        "openstack",
        r"(?:\S+ )?(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \d+ (?P<level>[A-Z]+) "
        r"(?P<service>[\w.]+) \[(?P<trace>req-[0-9a-f-]{36})?[^\]]*\] (?P<message>.*)",
        parse_timestamp,
        "2026-11-25 10:00:00.008 25746 INFO nova.osapi_compute.wsgi.server "
        "[req-4bf92f35-77b3-4da6-a3ce-929d0e0e4736 113d3a99c3da401fbd62cc2caa5b96d2 - - -] "
        '10.11.10.1 "GET /v2/servers HTTP/1.1" status: 200',
        "OpenStack (oslo.log): the request id `req-<uuid>` is the trace id, as a UUID.",
    ),
    RegexFormat(
        "apache-error",
        r"\[(?P<time>\w{3} \w{3} \d\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] \[(?:[\w-]+:)?"
        r"(?P<level>\w+)\] (?P<message>(?P<rest>.*))",
        _ctime,
        "[Wed Nov 25 10:00:00.000000 2026] [proxy:error] [pid 42] trace_id="
        "4bf92f3577b34da6a3ce929d0e0e4736 AH00898: Error reading from remote server",
        "Apache httpd error log: ctime-like time in brackets, no zone (--tz).",
    ),
]


class CriWrapper:
    """Kubernetes CRI (containerd, CRI-O) log files: `<RFC3339Nano> stdout F <the line>`,
    unwrapped: the inner line is parsed by the other formats, the CRI time when it has none.
    A partial (`P`) line is read on its own."""

    name = "cri"
    kind = "wrapper"
    example = ('2026-11-25T10:00:00.000000001Z stdout F {"level":"info","msg":"hi",'
               '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}')
    _PREFIX = (rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
               rb"(?:stdout|stderr) [FP] ")

    def unwrap(self, raw: bytes) -> tuple[bytes, object] | None:
        m = compiled(self._PREFIX).match(raw)
        if m is None:
            return None
        return raw[m.end():], m.group(1).decode()
