"""Benchmark of the local Zipkin collector: ingest rate and `/traces` latency at N stored spans.

    .venv/bin/python bench/bench_collector.py --spans 1000000

Ingest: synthetic traces (10 spans, 6 services, all within the last hour) POSTed as JSON
batches over HTTP. Baseline: raw `sqlite3.executemany` of the same span bodies into a bare
table (no normalisation, no indexes, no HTTP). Query: p50/p99 of
`/api/v2/traces?serviceName=&lookback=3600000&limit=100` (and a few other queries) on the full
store; baseline: the same `SpanStore.find_traces` call in-process (no HTTP, no JSON framing).
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import httpx
import orjson
import psutil
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.collector.query import parse_trace_query  # noqa: E402
from services.collector.store import Retention, SpanStore  # noqa: E402

SERVICES = ["gateway", "order", "customer", "product", "payment", "notification"]
SPANS_PER_TRACE = 10
console = Console()


def make_trace(rng: random.Random, now_us: int) -> list[dict]:
    """One synthetic trace: a gateway root and 9 descendants across the services."""
    trace_id = f"{rng.getrandbits(128):032x}"
    start = now_us - rng.randrange(3_000_000_000)  # within the last 50 minutes
    root_id = f"{rng.getrandbits(64):016x}"
    spans = [
        {
            "traceId": trace_id,
            "id": root_id,
            "kind": "SERVER",
            "name": "post /api/v1/orders",
            "timestamp": start,
            "duration": rng.randrange(5_000, 900_000),
            "localEndpoint": {"serviceName": "gateway", "ipv4": "127.0.0.1", "port": 8222},
            "tags": {
                "http.method": "POST",
                "http.route": "/api/v1/orders",
                "otel.status_code": "OK",
            },
            "debug": True,
        }
    ]
    for index in range(SPANS_PER_TRACE - 1):
        service = SERVICES[1 + index % (len(SERVICES) - 1)]
        spans.append(
            {
                "traceId": trace_id,
                "parentId": root_id,
                "id": f"{rng.getrandbits(64):016x}",
                "kind": "CLIENT" if index % 2 else "SERVER",
                "name": f"get /api/v1/{service}/{{id}}",
                "timestamp": start + 100 * (index + 1),
                "duration": rng.randrange(100, 300_000),
                "localEndpoint": {"serviceName": service, "ipv4": "127.0.0.1"},
                "remoteEndpoint": {"serviceName": SERVICES[index % len(SERVICES)]},
                "tags": {"http.method": "GET", "http.status_code": "200", "peer": "x" * 40},
                "annotations": [{"timestamp": start + 200, "value": "ws"}],
            }
        )
    return spans


def make_batches(total: int, batch: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    now_us = int(time.time() * 1_000_000)
    spans: list[dict] = []
    while len(spans) < total:
        spans.extend(make_trace(rng, now_us))
    spans = spans[:total]
    return [orjson.dumps(spans[i : i + batch]) for i in range(0, total, batch)]


def start_collector(db: Path, max_spans: int) -> tuple[subprocess.Popen, str]:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "COLLECTOR_MAX_SPANS": str(max_spans), "SHOP_VAR_DIR": str(db.parent)}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.collector", "--port", str(port), "--db", str(db)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("collector did not start")


def ingest_http(url: str, batches: list[bytes], senders: int) -> float:
    """POST all batches with `senders` concurrent clients; returns seconds."""
    queue = list(reversed(batches))
    lock = threading.Lock()
    errors: list[str] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingest over HTTP", total=len(batches))

        def send() -> None:
            with httpx.Client(timeout=60) as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        body = queue.pop()
                    response = client.post(
                        f"{url}/api/v2/spans",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    if response.status_code != 202:
                        errors.append(response.text)
                    progress.advance(task)

        started = time.perf_counter()
        threads = [threading.Thread(target=send) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise SystemExit(f"ingest failed: {errors[0]}")
    return time.perf_counter() - started


def ingest_baseline(batches: list[bytes], directory: Path) -> float:
    """Raw sqlite3: executemany of (trace id, span id, body) rows, WAL, no indexes."""
    conn = sqlite3.connect(directory / "baseline.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE spans (trace_id TEXT, id TEXT, body BLOB)")
    started = time.perf_counter()
    for body in batches:
        rows = [(s["traceId"], s["id"], orjson.dumps(s)) for s in orjson.loads(body)]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO spans VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def latencies(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


@click.command()
@click.option("--spans", "total", type=int, default=1_000_000, show_default=True)
@click.option("--batch", type=int, default=500, show_default=True, help="spans per POST")
@click.option("--senders", type=int, default=2, show_default=True, help="concurrent clients")
@click.option("--runs", type=int, default=50, show_default=True, help="queries per figure")
def main(total: int, batch: int, senders: int, runs: int) -> None:
    """Ingest TOTAL spans into a fresh collector, then time the read API."""
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        directory = Path(tmp)
        console.print(f"generating {total:,} spans in batches of {batch} …")
        batches = make_batches(total, batch)
        db = directory / "zipkin.sqlite3"
        process, url = start_collector(db, max_spans=max(total, 1_000_000))
        try:
            server = psutil.Process(process.pid)
            cpu_before = sum(server.cpu_times()[:2])
            http_s = ingest_http(url, batches, senders)
            server_cpu_s = sum(server.cpu_times()[:2]) - cpu_before
            base_s = ingest_baseline(batches, directory)
            stored = httpx.get(f"{url}/health").json()["zipkin"]["details"]["SQLite"]["details"]
            queries = {
                "traces serviceName=&lookback=1h&limit=100": (
                    "serviceName=&lookback=3600000&limit=100"
                ),
                "traces serviceName=payment&limit=100": "serviceName=payment&limit=100",
                "traces spanName+minDuration&limit=10": (
                    "serviceName=order&spanName=get%20/api/v1/order/%7Bid%7D&minDuration=250000"
                ),
                "traces annotationQuery=http.status_code=200": (
                    "annotationQuery=http.status_code%3D200&limit=10"
                ),
                "traces serviceName=nobody (scans the 1h window)": (
                    "serviceName=nobody&lookback=3600000&limit=10"
                ),
            }
            rows = []
            with httpx.Client(timeout=60) as client:
                for label, params in queries.items():
                    p50, p99 = latencies(
                        lambda p=params: client.get(f"{url}/api/v2/traces?{p}").raise_for_status(),
                        runs,
                    )
                    rows.append((label, p50, p99))
                trace_id = orjson.loads(batches[len(batches) // 2])[0]["traceId"]
                p50, p99 = latencies(
                    lambda: client.get(f"{url}/api/v2/trace/{trace_id}").raise_for_status(), runs
                )
                rows.append(("trace/{id}", p50, p99))
                end_ts = int(time.time() * 1000) + 60_000
                deps = f"{url}/api/v2/dependencies?endTs={end_ts}&lookback=3600000"
                for label in ("first call: computes links", "again: cached links"):
                    p50, p99 = latencies(lambda: client.get(deps).raise_for_status(), 1)
                    rows.append((f"dependencies over the store, {label} (1 run)", p50, p99))
        finally:
            process.terminate()
            process.wait()
        store = SpanStore(db, Retention(max(total, 1_000_000)))
        query = parse_trace_query(
            {"serviceName": "", "lookback": "3600000", "limit": "100"}, 86_400_000
        )
        base_p50, base_p99 = latencies(lambda: store.find_traces(query), runs)
        store.close()

    console.width = max(console.width, 130)
    table = Table(title=f"collector at {stored['spans']:,} stored spans")
    table.add_column("figure")
    table.add_column("collector", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("ratio", justify="right")
    http_rate, base_rate = total / http_s, total / base_s
    table.add_row(
        "ingest spans/s, wall (HTTP JSON, normalise, index) vs raw sqlite3 executemany",
        f"{http_rate:,.0f}",
        f"{base_rate:,.0f}",
        f"{http_rate / base_rate:.2f}x",
    )
    table.add_row(
        "ingest spans per collector CPU-second (load-independent)",
        f"{total / server_cpu_s:,.0f}",
        "",
        "",
    )
    for label, p50, p99 in rows:
        note = ""
        if label.startswith("traces serviceName=&"):
            note = f"{p50 / base_p50:.1f}x of in-process p50 {base_p50:.1f} / p99 {base_p99:.1f}"
        table.add_row(f"{label} p50 / p99 ms", f"{p50:.1f} / {p99:.1f}", note, "")
    console.print(table)
    load = os.getloadavg()[0]
    console.print(
        f"targets: ingest ≥20,000 spans/s wall {'met' if http_rate >= 20_000 else 'NOT met'}"
        f" (per CPU-second {'met' if total / server_cpu_s >= 20_000 else 'NOT met'});"
        f" 1h/100 query <200 ms p50 {'met' if rows[0][1] < 200 else 'NOT met'}"
        f" — machine load average {load:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
