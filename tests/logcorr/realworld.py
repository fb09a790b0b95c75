"""A folder of real-world log formats, each line written from the format's documented shape
(the formats' own documentation and the research notes; no third-party file is copied), with
one trace planted in each file at least twice, in a different form of its id per line.

`build` writes it and returns the planted lines with the time each one carries (None where the
line has none). The times are written here from known instants, so the expected values are
known without reading the lines back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

TID = "4bf92f3577b34da6a3ce929d0e0e4736"
LOW = TID[16:]
DEC = str(int(LOW, 16))  # Datadog: the low 64 bits in decimal
UUID = f"{TID[:8]}-{TID[8:12]}-{TID[12:16]}-{TID[16:20]}-{TID[20:]}"
XRAY = f"1-{TID[:8]}-{TID[8:]}"
SPAN = "00f067aa0ba902b7"
OTHER = "0af7651916cd43dd8448eb211c80319c"  # another trace, never expected
T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
# the forms ripgrep is given (fixed strings, case-insensitive): every line of the trace holds one
RG_FORMS = (TID, LOW, DEC, UUID, XRAY)


@dataclass
class Planted:
    file: str
    line: int
    us: int | None  # the time written in the line (None: the line has none)
    form: str  # which form of the id the line carries


@dataclass
class RealWorld:
    folder: Path
    planted: list[Planted] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file name → format name


def _at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def _us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _iso(dt: datetime, digits: int = 6) -> str:
    return dt.isoformat(timespec="microseconds" if digits == 6 else "milliseconds") \
        .replace("+00:00", "Z")


def _clf(dt: datetime) -> str:
    return dt.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _bsd(dt: datetime) -> str:
    return dt.strftime("%b %d %H:%M:%S")


def _files() -> dict[str, tuple[str, list[tuple[str, int | None, str]]]]:
    """file → (format, [(line, ms after T0 written in it or None, form of the id or "")])."""
    t = _at
    ns = lambda ms: str(_us(t(ms)) * 1000)  # noqa: E731
    return {
        "cri-containerd.log": ("Kubernetes CRI wrapping JSON and text", [
            (f"{_iso(t(0))[:-1]}123Z stdout F {{\"level\":\"info\",\"msg\":\"boot\"}}", 0, ""),
            (f"{_iso(t(100))} stdout F {{\"level\":\"info\",\"ts\":\"{_iso(t(101))}\","
             f"\"msg\":\"cart loaded\",\"trace_id\":\"{TID}\"}}", 101, "hex32"),
            (f"{_iso(t(102))} stderr F WARN retrying traceparent=00-{TID}-{SPAN}-01",
             102, "hex32"),
        ]),
        "docker-json.log": ("Docker json-file", [
            (json.dumps({"log": "starting\n", "stream": "stdout", "time": _iso(t(1))}), 1, ""),
            (json.dumps({"log": f"{_iso(t(110), 3)} INFO GET /cart trace={TID.upper()}\n",
                         "stream": "stdout", "time": _iso(t(111))}), 110, "hex32"),
            (json.dumps({"log": json.dumps({"level": "error", "msg": "cart failed",
                                            "trace_id": TID}) + "\n",
                         "stream": "stderr", "time": _iso(t(112))}), 112, "hex32"),
        ]),
        "payment.clef": ("Serilog CLEF", [
            (json.dumps({"@t": _iso(t(120)), "@mt": "Charging {Amount}", "Amount": 12,
                         "@tr": TID, "@sp": SPAN}), 120, "hex32"),
            (json.dumps({"@t": _iso(t(121)), "@mt": "Charged", "@l": "Error",
                         "@x": "System.Exception: declined", "@tr": TID, "@sp": SPAN}),
             121, "hex32"),
            (json.dumps({"@t": _iso(t(2)), "@mt": "Idle", "@tr": OTHER}), 2, ""),
        ]),
        "otelcol-logs.json": ("OTLP JSON logs (Collector file exporter)", [
            (json.dumps({"resourceLogs": [{"resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "cart"}}]},
                "scopeLogs": [{"scope": {"name": "cart"}, "logRecords": [
                    {"timeUnixNano": ns(3), "severityNumber": 9, "body": {"stringValue": "x"},
                     "traceId": OTHER, "spanId": SPAN},
                    {"timeUnixNano": ns(130), "severityText": "INFO",
                     "body": {"stringValue": "cart read"}, "traceId": TID, "spanId": SPAN}]}]}]}),
             130, "hex32"),
            (json.dumps({"resourceLogs": [{"resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "cart"}}]},
                "scopeLogs": [{"scope": {}, "logRecords": [
                    {"timeUnixNano": ns(131), "severityNumber": 17,
                     "body": {"stringValue": "cart write failed"}, "traceId": TID,
                     "spanId": SPAN}]}]}]}), 131, "hex32"),
        ]),
        "aspnet.json": ("ASP.NET Core JSON console", [
            (json.dumps({"Timestamp": _iso(t(140)), "EventId": 1, "LogLevel": "Information",
                         "Category": "Shop.Orders", "Message": "Order placed",
                         "State": {"Message": "Order placed"},
                         "Scopes": [{"Message": f"SpanId:{SPAN}, TraceId:{TID}",
                                     "SpanId": SPAN, "TraceId": TID,
                                     "ParentId": "0000000000000000"}]}), 140, "hex32"),
            (json.dumps({"Timestamp": _iso(t(141)), "EventId": 2, "LogLevel": "Error",
                         "Category": "Shop.Orders", "Message": "Order failed",
                         "Scopes": [{"TraceId": TID, "SpanId": SPAN}]}), 141, "hex32"),
        ]),
        "alb.log": ("AWS ALB access log (X-Ray root)", [
            (_alb(t(150), f"Root={XRAY}"), 150, "xray"),
            (_alb(t(4), "Root=1-5759e988-bd862e3fe1be46a994272793"), 4, ""),
            (_alb(t(151), f"Self=1-67891234-12456789abcdef012345678;Root={XRAY}"), 151, "xray"),
        ]),
        "datadog.log": ("Datadog text pattern (decimal) and JSON", [
            (f"{t(160).strftime('%Y-%m-%d %H:%M:%S')},160 ERROR [ddtrace] [app.py:12] "
             f"[dd.service=cart dd.env=prod dd.version=1 dd.trace_id={DEC} dd.span_id=42] - "
             "card declined", 160, "decimal"),
            (json.dumps({"date": _iso(t(161)), "status": "error", "message": "declined again",
                         "dd": {"trace_id": DEC, "span_id": "42"}}), 161, "decimal"),
        ]),
        "nova-api.log": ("OpenStack oslo.log (req-<uuid>)", [
            (f"{t(170).strftime('%Y-%m-%d %H:%M:%S')}.170 25746 INFO "
             f"nova.osapi_compute.wsgi.server [req-{UUID} 113d3a99c3da401fbd62cc2caa5b96d2 "
             '54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "GET /v2/servers HTTP/1.1" '
             "status: 200 len: 1893 time: 0.2477829", 170, "uuid"),
            (f"{t(171).strftime('%Y-%m-%d %H:%M:%S')}.171 25746 ERROR nova.compute.manager "
             f"[req-{UUID.upper()} - - - - -] Instance failed to spawn", 171, "uuid"),
        ]),
        "access.log": ("nginx combined + $request_id / traceparent", [
            (f'10.0.0.1 - - [{_clf(t(5))}] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29" '
             f"{OTHER}", 5, ""),
            (f'10.0.0.2 - - [{_clf(t(180))}] "GET /cart HTTP/1.1" 200 512 "-" "curl/8.5" '
             f"{TID}", 180, "hex32"),
            (f'10.0.0.2 - alice [{_clf(t(181))}] "POST /cart HTTP/1.1" 502 0 "-" "curl/8.5" '
             f'"00-{TID}-{SPAN}-01"', 181, "hex32"),
        ]),
        "syslog": ("syslog RFC 3164 and RFC 5424", [
            (f"<34>{_bsd(t(190))} host1 cart[1234]: payment slow trace_id={LOW}", 190, "hex16"),
            (f'<165>1 {_iso(t(191), 3)} host1 cart 1234 ID47 [trace@32473 trace_id="'
             f'{TID.upper()}"] payment retried', 191, "hex32"),
        ]),
        "logfmt.log": ("logfmt (Go / Loki), B3", [
            (f'ts={_iso(t(200))} level=info traceID={TID} msg="cart ok"', 200, "hex32"),
            (f'ts={_iso(t(201))} level=warn b3={LOW}-{SPAN}-1 msg="slow downstream"',
             201, "hex16"),
        ]),
        "spring.log": ("Spring Boot 3.2 (Micrometer)", [
            (f"{_iso(t(210), 3)}  INFO 1 --- [cart] [nio-8080-exec-1] [{TID}-{SPAN}] "
             "c.e.cart.CartController : cart shown", 210, "hex32"),
            (f"{_iso(t(211), 3)} ERROR 1 --- [cart] [nio-8080-exec-1] [{TID}-{SPAN}] "
             "c.e.cart.CartController : cart failed", 211, "hex32"),
            ("java.lang.IllegalStateException: boom", None, ""),
            ("\tat com.example.cart.CartController.show(CartController.java:42)", None, ""),
        ]),
        "python-json.log": ("python-json-logger (created epoch) + OTel", [
            (json.dumps({"created": _us(t(220)) / 1e6, "levelname": "INFO",
                         "message": "stock checked", "otelTraceID": TID,
                         "otelSpanID": SPAN}), 220, "hex32"),
            (json.dumps({"created": _us(t(221)) / 1e6, "levelname": "INFO",
                         "message": "stock reserved", "otelTraceID": TID}), 221, "hex32"),
        ]),
        "hadoop.log": ("log4j text with the id in the message (Hadoop/Zookeeper shape)", [
            (f"{t(230).strftime('%Y-%m-%d %H:%M:%S')},230 INFO [main] "
             "org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for "
             f"application X-Amzn-Trace-Id: Root={XRAY}", 230, "xray"),
            (f"{t(231).strftime('%Y-%m-%d %H:%M:%S')},231 - WARN  [QuorumPeer:/0.0.0.0:2181] "
             f"- Cannot open channel for request {UUID}", 231, "uuid"),
        ]),
        "error_log": ("Apache httpd error log", [
            (f"[{t(240).strftime('%a %b %d %H:%M:%S')}.240000 2026] [proxy:error] [pid 42] "
             f"trace_id={TID} AH00898: Error reading from remote server", 240, "hex32"),
            (f"[{t(241).strftime('%a %b %d %H:%M:%S')}.241000 2026] [core:notice] [pid 42] "
             f"request {LOW} done", 241, "hex16"),
        ]),
        "notes.txt": ("plain text, no time", [
            (f"customer called about order of trace {TID}", None, "hex32"),
            ("unrelated note", None, ""),
            (f"decimal id seen in support ticket: {DEC}", None, "decimal"),
        ]),
    }


def _alb(dt: datetime, trace: str) -> str:
    return (f"https {_iso(dt)} app/shop-lb/50dc6c495c0c9188 10.0.0.1:4242 10.0.1.2:80 0.000 "
            '0.012 0.000 200 200 34 366 "GET https://shop:443/cart HTTP/1.1" "curl/8.5" '
            "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:1:"
            f'targetgroup/t/1 "{trace}" "shop" "-" 0 {_iso(dt)} "forward" "-" "-" '
            '"10.0.1.2:80" "200" "-" "-"')


def build(folder: Path) -> RealWorld:
    folder.mkdir(parents=True, exist_ok=True)
    world = RealWorld(folder)
    for name, (fmt, lines) in _files().items():
        world.files[name] = fmt
        (folder / name).write_text("".join(line + "\n" for line, _, _ in lines))
        for n, (line, ms, form) in enumerate(lines, 1):
            if form:
                when = None if ms is None else _at(ms)
                if when and line.startswith("<34>"):  # RFC 3164 has no year: this year's
                    when = when.replace(year=datetime.now(UTC).year)
                if when and (line.startswith("<34>") or name == "access.log"):
                    when = when.replace(microsecond=0)  # these formats keep whole seconds
                world.planted.append(Planted(
                    str(folder / name), n, None if when is None else _us(when), form))
    return world
