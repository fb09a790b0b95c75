"""Generated log folders: ten services, one per supported format, with clock skew between files,
tracebacks, a gzipped file, lines without a timestamp and broken lines. Returns what it wrote."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

T0 = 1_795_600_800_000_000  # 2026-11-25T10:00:00Z in µs
PLUS_ONE = timezone(timedelta(hours=1))
SKEW_US = {"notification": 250_000, "web": -40_000}  # these hosts' clocks are off

# service → (file name, offset of its event inside a trace in µs, 16-hex trace ids only?)
SERVICES = {
    "gateway": ("gateway.jsonl", 0, False),  # structlog (the project's own format)
    "order": ("order.jsonl", 2_000, False),  # structlog + raw tracebacks + broken lines
    "customer": ("customer.json.log", 4_000, False),  # python-json-logger + OTel, zone-less
    "product": ("product.jsonl.gz", 6_000, False),  # ECS, gzipped
    "inventory": ("inventory.log", 7_000, False),  # logfmt, epoch ms
    "payment": ("payment.log", 9_000, True),  # Spring Sleuth [app,trace,span], +01:00, 16 hex
    "shipping": ("shipping.log", 15_000, False),  # Spring Boot 3.2 Micrometer [trace-span]
    "audit": ("audit.log", 17_000, False),  # OTel logging text format
    "notification": ("notification.jsonl", 20_000, True),  # Datadog decimal ids, epoch s
    "web": ("web.jsonl", 25_000, False),  # pino: epoch ms, traceId/spanId
}


@dataclass
class Event:
    service: str
    message: str
    true_us: int
    logged_us: int
    span_id: str
    level: str = "info"
    continuation: int = 0


@dataclass
class Corpus:
    folder: Path
    traces: dict[str, list[Event]] = field(default_factory=dict)  # trace id → its events
    spans: dict[str, dict[str, str]] = field(default_factory=dict)  # trace → service → span id
    broken: int = 0  # broken lines written
    broken_with_trace: dict[str, int] = field(default_factory=dict)

    def expected(self, trace_id: str) -> list[Event]:
        """The trace's events in merged (logged-time, then file, line) order."""
        return sorted(self.traces[trace_id], key=lambda e: e.logged_us)

    @property
    def clean_trace(self) -> str:
        """The first trace without a broken line (every line of it parses)."""
        return next(t for t in self.traces if t not in self.broken_with_trace)

    @property
    def error_trace(self) -> str:
        return next(t for t, evs in self.traces.items() if any(e.level == "error" for e in evs))


def _iso(us: int, tz=UTC, digits: int = 6) -> str:
    dt = datetime.fromtimestamp(us / 1e6, tz)
    text = dt.isoformat(timespec="microseconds" if digits == 6 else "milliseconds")
    return text.replace("+00:00", "Z")


def build(folder: Path, n_traces: int = 30, seed: int = 7) -> Corpus:
    rnd = random.Random(seed)
    corpus = Corpus(folder)
    lines: dict[str, list[tuple[int, str]]] = {s: [] for s in SERVICES}
    for s in SERVICES:  # a start-up line outside any trace in every file
        lines[s].append((T0 - 1_000_000, _render(s, None, None, "started", T0 - 1_000_000,
                                                 "info")))
    for i in range(n_traces):
        tid = f"{rnd.getrandbits(128):032x}"
        start = T0 + i * 100_000
        spans = {s: f"{rnd.getrandbits(64) | 1:016x}" for s in SERVICES}
        corpus.spans[tid] = spans
        events = corpus.traces[tid] = []
        fails = i % 5 == 3
        for s, (_, at, _) in SERVICES.items():
            true_us = start + at + rnd.randint(0, 900)
            logged = true_us + SKEW_US.get(s, 0)
            if s in ("customer", "payment", "inventory", "shipping", "audit", "web"):
                logged = logged // 1000 * 1000  # these formats keep milliseconds
            level = "error" if fails and s in ("order", "payment") else "info"
            msg = f"{s} step of trace {i}" + (" failed" if level == "error" else "")
            ev = Event(s, msg, true_us, logged, spans[s], level)
            events.append(ev)
            lines[s].append((logged, _render(s, tid, spans[s], msg, logged, level)))
            if level == "error":
                tb = _traceback(s)
                ev.continuation = len(tb)
                lines[s][-1] = (logged, lines[s][-1][1] + "\n" + "\n".join(tb))
            if s == "inventory":  # a second line without a timestamp: takes its predecessor's
                ev2 = Event(s, f"inventory detail of trace {i}", true_us, logged, spans[s])
                events.append(ev2)
                lines[s].append((logged, f'level=debug trace_id={tid} span_id={spans[s]} '
                                         f'msg="{ev2.message}"'))
                ev2.level = "debug"
        # a broken (truncated) order line carrying the trace id, every 7th trace
        if i % 7 == 0:
            full = _render("order", tid, spans["order"], "cut", start + 2_500, "info")
            lines["order"].append((start + 2_500, full[: full.index('"span_id"')]))
            corpus.broken += 1
            corpus.broken_with_trace[tid] = 1
    # an OTel "no trace" line (all-zero id) and a line of binary garbage
    lines["customer"].append((T0 + n_traces * 100_000, json.dumps(
        {"asctime": "2026-11-25 11:00:00,000", "levelname": "INFO", "message": "no trace",
         "otelTraceID": "0", "otelSpanID": "0", "otelServiceName": "customer"})))
    lines["gateway"].append((T0 + n_traces * 100_000, "\x00\x00garbage\x00"))
    corpus.broken += 1
    folder.mkdir(parents=True, exist_ok=True)
    for s, (name, _, _) in SERVICES.items():
        text = "\n".join(line for _, line in sorted(lines[s], key=lambda x: x[0])) + "\n"
        path = folder / name
        if name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    return corpus


def _traceback(service: str) -> list[str]:
    if service == "payment":
        return ["java.lang.IllegalStateException: card declined",
                "\tat com.example.payment.PaymentService.charge(PaymentService.java:42)",
                "\tat com.example.payment.PaymentController.pay(PaymentController.java:17)"]
    return ["Traceback (most recent call last):",
            '  File "/app/services/order/app.py", line 88, in place_order',
            "    await payment.charge(order)",
            "RuntimeError: payment answered 500"]


def _render(service: str, tid: str | None, span: str | None, msg: str, us: int,
            level: str) -> str:
    """One line in the format of the service's file."""
    tid = tid or "0" * 32
    span = span or "0" * 16
    if service in ("gateway", "order"):
        return json.dumps({"timestamp": _iso(us), "level": level, "service": service,
                           "event": msg, "trace_id": tid, "span_id": span, "route": "/x"})
    if service == "customer":
        asctime = datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        return json.dumps({"asctime": asctime, "levelname": level.upper(), "name": "customer",
                           "message": msg, "otelTraceID": tid, "otelSpanID": span,
                           "otelServiceName": "customer", "otelTraceSampled": True})
    if service == "product":
        return json.dumps({"@timestamp": _iso(us), "log.level": level, "message": msg,
                           "service": {"name": "product"}, "trace": {"id": tid},
                           "span": {"id": span}, "ecs.version": "1.6.0"})
    if service == "inventory":
        return f'ts={us // 1000} level={level} trace_id={tid} span_id={span} msg="{msg}"'
    if service == "payment":
        ts = _iso(us, PLUS_ONE, 3)
        ids = f"{tid[16:]},{span}" if tid.strip("0") else ","
        return f"{ts} {level.upper():>5} [payment,{ids}] 1 --- [nio-8060-exec-1] " \
               f"c.e.payment.PaymentService : {msg}"
    if service == "shipping":
        ts = _iso(us, UTC, 3)
        return f"{ts}  {level.upper()} 1 --- [shipping] [main] [{tid}-{span}] " \
               f"c.e.shipping.Labels : {msg}"
    if service == "audit":
        ts = datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        return f"{ts} {level.upper()} [audit.log] [app.py:12] [trace_id={tid} span_id={span} " \
               f"resource.service.name=audit trace_sampled=True] - {msg}"
    if service == "notification":
        return json.dumps({"ts": us / 1e6, "level": level, "msg": msg,
                           "dd": {"trace_id": str(int(tid[16:], 16)),
                                  "span_id": str(int(span, 16)), "service": "notification"}})
    if service == "web":
        return json.dumps({"time": us // 1000, "level": 50 if level == "error" else 30,
                           "msg": msg, "traceId": tid, "spanId": span, "name": "web"})
    raise ValueError(service)
