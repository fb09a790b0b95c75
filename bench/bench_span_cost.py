"""What one span costs in CPU instructions, piece by piece: the floor under tracing's overhead.

    .venv/bin/python bench/bench_span_cost.py

Each piece runs in its own Python process under valgrind's callgrind, counted only while it
repeats its operation (`callgrind_control` switches counting on and off), so each figure is
instructions an operation, the same from run to run. The pieces, in the order a span meets
them: the OpenTelemetry SDK starting and ending a span (no attributes, then the seven of a
database span), `BatchSpanProcessor` queueing it (its exporter does nothing), the shop's
Zipkin JSON encoding (`services/common/_zipkin.py`, batches of 512), a FastAPI request
without and with its server span (configured as the services', no database), and one export
POST to the local collector: the shop's exporter (urllib3) against the baseline it replaced,
httpx. The last line is what the 29 spans of an order cost before the client side (header
injection, messaging, log fields) does anything, to set against
`bench_telemetry_instructions.py`'s instructions an order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import _callgrind as callgrind  # noqa: E402

SPANS_AN_ORDER = 29  # 5 server, 4 HTTP client, 16 database, 2 publish, 2 consume
SERVER_SPANS = 5
BATCH = 512  # BatchSpanProcessor's export batch
DATABASE_ATTRIBUTES = {
    "db.statement": "SELECT customer.id, customer.firstname, customer.lastname FROM customer "
                    "WHERE customer.id = %(pk_1)s::VARCHAR",
    "db.system": "postgresql", "db.name": "shop_customer", "db.user": "postgres",
    "db.operation": "SELECT shop_customer", "net.peer.name": "127.0.0.1", "net.peer.port": 5432,
}
SERVER_ATTRIBUTES = {
    "url.scheme": "http", "http.request.method": "GET", "network.protocol.version": "1.1",
    "server.address": "127.0.0.1", "server.port": 8090, "url.path": "/api/v1/customers/c1",
    "http.route": "/api/v1/customers/{customer_id}", "http.response.status_code": 200,
}
# name: (what it is, operations counted)
PIECES = {
    "span": ("SDK: start + end a span, no attributes", 2000),
    "attributes": ("SDK: start + end a span with a database span's 7 attributes", 2000),
    "processor": ("  + BatchSpanProcessor queueing it (exporter does nothing)", 2000),
    "encode": ("Zipkin JSON encoding, a span (batches of 512)", 5 * BATCH),
    "request": ("a FastAPI GET (in-process ASGI call), tracing off", 1000),
    "request-traced": ("  the same with its server span (W3C + B3 headers in, queued)", 1000),
    "post-httpx": ("an export POST, 1 span, httpx (baseline: the former exporter)", 50),
    "post-urllib3": ("an export POST, 1 span, urllib3 (ZipkinJsonExporter)", 50),
}
console = Console()


def _provider(processor: object | None = None):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from services.common.telemetry import ShopSampler

    provider = TracerProvider(resource=Resource.create({"service.name": "customer"}),
                              sampler=ShopSampler())
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def _span_loop(processor: object | None, attributes: dict | None) -> Callable[[], None]:
    """One database span inside a request span, as the services make it."""
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

    tracer = _provider(processor).get_tracer("bench")
    request = tracer.start_span("GET /api/v1/customers/{customer_id}", kind=SpanKind.SERVER)
    context.attach(trace.set_span_in_context(request))

    def one() -> None:
        tracer.start_span("SELECT shop_customer", kind=SpanKind.CLIENT,
                          attributes=attributes).end()

    return one


def _finished_spans(n: int) -> list:
    """`n` finished spans, server and database alternately, with the services' attributes."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    memory = InMemorySpanExporter()
    tracer = _provider(SimpleSpanProcessor(memory)).get_tracer("fastapi")
    for _ in range(n // 2):
        with tracer.start_as_current_span("GET /api/v1/customers/{customer_id}",
                                          kind=SpanKind.SERVER, attributes=SERVER_ATTRIBUTES):
            tracer.start_span("SELECT shop_customer", kind=SpanKind.CLIENT,
                              attributes=DATABASE_ATTRIBUTES).end()
    return list(memory.get_finished_spans())


def _request_loop(traced: bool) -> Callable[[], None]:
    """One GET through a FastAPI app configured as the services' (`fastapi_config`)."""
    import asyncio

    from fastapi import FastAPI
    from opentelemetry import propagate
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from services.common.telemetry import fastapi_config, propagator

    propagate.set_global_textmap(propagator())
    config = {**fastapi_config(), "tracing": traced,
              "tracer_provider": _provider(BatchSpanProcessor(_Discard()))}
    app = FastAPI(telemetry=config)

    @app.get("/api/v1/customers/{customer_id}")
    async def customer(customer_id: str) -> dict[str, str]:
        return {"id": customer_id}

    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/api/v1/customers/c1",
             "raw_path": b"/api/v1/customers/c1", "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8090),
             "headers": [(b"host", b"127.0.0.1:8090"), (b"accept", b"*/*"),
                         (b"traceparent", f"00-{trace_id}-{span_id}-01".encode()),
                         (b"x-b3-traceid", trace_id.encode()), (b"x-b3-spanid", span_id.encode()),
                         (b"x-b3-sampled", b"1")]}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    loop = asyncio.new_event_loop()

    def one() -> None:
        sent.clear()
        loop.run_until_complete(app(dict(scope), receive, send))
        _check(sent[0]["status"] == 200)

    return one


class _Discard:
    """A span exporter that drops what it gets: queueing is counted, not exporting."""

    def export(self, spans: object) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _operation(piece: str, collector: str) -> Callable[[], None]:
    """The operation `piece` counts, ready to repeat."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

    from services.common._zipkin import ZipkinJsonExporter, encode

    if piece == "span":
        return _span_loop(None, None)
    if piece == "attributes":
        return _span_loop(None, DATABASE_ATTRIBUTES)
    if piece == "processor":
        return _span_loop(BatchSpanProcessor(_Discard(), max_queue_size=4 * BATCH,
                                             max_export_batch_size=BATCH),
                          DATABASE_ATTRIBUTES)
    if piece.startswith("request"):
        return _request_loop(traced=piece == "request-traced")
    if piece == "encode":
        batch, done = _finished_spans(BATCH), [0]

        def encode_one() -> None:  # counted a span at a time, encoded a batch at a time
            done[0] += 1
            if done[0] % BATCH == 0:
                encode(batch)

        return encode_one
    endpoint = f"{collector}/api/v2/spans"
    spans = _finished_spans(2)[:1]
    if piece == "post-urllib3":
        exporter = ZipkinJsonExporter(endpoint, timeout=5.0)
        return lambda: _check(exporter.export(spans) is SpanExportResult.SUCCESS)
    import httpx

    client = httpx.Client(timeout=5.0, headers={"Content-Type": "application/json"})
    return lambda: _check(client.post(endpoint, content=encode(spans)).status_code == 202)


def _check(ok: bool) -> None:
    if not ok:
        raise SystemExit("the collector did not take the spans: the count would be off")


def _counted(piece: str, collector: str) -> None:
    """Run inside callgrind: warm up, then count `PIECES[piece]` repetitions only."""
    operation = _operation(piece, collector)
    for _ in range(20):
        operation()
    callgrind.control(os.getpid(), "--instr=on")
    for _ in range(PIECES[piece][1]):
        operation()
    callgrind.control(os.getpid(), "--instr=off")


def _instructions(piece: str, collector: str, out: Path) -> float:
    """Instructions one operation of `piece` costs."""
    done = subprocess.run(
        [*callgrind.command(out), sys.executable, __file__, "--piece", piece,
         "--collector", collector],
        cwd=REPO, capture_output=True, text=True,
    )
    if done.returncode:
        raise click.ClickException(f"{piece} under callgrind failed ({done.returncode}):\n"
                                   + done.stderr[-1500:])
    return callgrind.total(out) / PIECES[piece][1]


@click.command()
@click.option("--piece", type=click.Choice(PIECES), hidden=True, help="(run one piece, counted)")
@click.option("--collector", default="", hidden=True)
def main(piece: str | None, collector: str) -> None:
    """Instructions a span's pieces cost, and the floor they set for an order's 29 spans."""
    if piece:
        _counted(piece, collector)
        return
    callgrind.require()
    from tests.fixtures.collector import start_collector, stop_collector

    work = Path(tempfile.mkdtemp(prefix="bench_span_cost_"))
    process, url = start_collector(work)
    try:
        counts = {}
        for name, (what, _) in PIECES.items():
            with console.status(f"{what}: under callgrind"):
                counts[name] = _instructions(name, url, work / f"callgrind.{name}")
    finally:
        stop_collector(process)
        shutil.rmtree(work, ignore_errors=True)
    table = Table(title="CPU instructions an operation (callgrind)")
    table.add_column("piece")
    table.add_column("instructions", justify="right")
    for name, (what, _) in PIECES.items():
        table.add_row(what, f"{counts[name]:,.0f}")
    console.print(table)
    attributes = counts["attributes"] - counts["span"]
    console.print(f"an attribute: {attributes / len(DATABASE_ATTRIBUTES):,.0f} instructions; "
                  f"the processor: {counts['processor'] - counts['attributes']:,.0f} a span")
    console.print(f"an export POST: urllib3 {counts['post-urllib3']:,.0f} vs httpx "
                  f"{counts['post-httpx']:,.0f} (baseline): "
                  f"{counts['post-urllib3'] / counts['post-httpx']:.2f}x")
    server = counts["request-traced"] - counts["request"]
    console.print(f"a server span, all in but export: {server:,.0f} instructions, of which "
                  f"{server - counts['processor']:,.0f} beyond a queued span with 7 attributes "
                  "(FastAPI's span handling, extraction, context)")
    span = counts["processor"] + counts["encode"]
    floor = SERVER_SPANS * (server + counts["encode"]) + (SPANS_AN_ORDER - SERVER_SPANS) * span
    console.print(f"a database span made, queued and encoded: {span:,.0f} instructions; an "
                  f"order's {SPANS_AN_ORDER} spans ({SERVER_SPANS} server spans all in, the "
                  f"others as database spans): {floor / 1e6:.1f}M before any client-side "
                  "propagation, messaging or logging work")


if __name__ == "__main__":
    main()
