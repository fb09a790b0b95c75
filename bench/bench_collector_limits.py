"""Benchmark of the collector under hostile bodies: its peak memory, and a many-term query.

    .venv/bin/python bench/bench_collector_limits.py [--baseline-repo PATH]

Each probe runs against a fresh collector process (so one probe's heap does not hide the
next) and prints the process's peak RSS (sampled every 10 ms) beside its idle RSS, the
named baseline of the same run. With `--baseline-repo` (a checkout of an older commit, e.g.
`git worktree add /tmp/pre22 4bc942c`) every probe also runs against that checkout's
collector, and the ratio old/new is printed.

Probes: a valid 200 MB JSON body (chunked, no Content-Length); a gzip bomb (2 MiB that
inflates to 2 GiB) to the Zipkin and OTLP endpoints; one request of 1,000,000 tiny spans.
Query: `/api/v2/traces` with a 99-term `annotationQuery` against the plain query (no terms), on
a store of 20,000 spans, median of 20 runs.
"""

from __future__ import annotations

import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import httpx
import orjson
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20
console = Console(width=150)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """`python -m services.collector` of `repo` on a free port with an empty store."""

    def __init__(self, repo: Path, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(repo), "SHOP_VAR_DIR": str(directory)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.collector", "--port", str(self.port),
             "--db", str(directory / f"{uuid.uuid4().hex}.sqlite3")],
            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"collector of {repo} did not start")
        self.ps = psutil.Process(self.process.pid)

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def peak_rss(collector: Collector, action: Callable[[], str]) -> tuple[int, int, str, float]:
    """Idle RSS, peak RSS while `action` runs, its answer and seconds."""
    idle = collector.rss()
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], collector.rss())
            except psutil.Error:
                return
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        answer = action()
    finally:
        seconds = time.perf_counter() - start
        time.sleep(0.2)
        done.set()
        sampler.join()
    return idle, peak[0], answer, seconds


def _post(url: str, content, headers: dict[str, str]) -> str:
    try:
        response = httpx.post(url, content=content, headers=headers, timeout=600)
    except httpx.TransportError as exc:
        return f"connection: {type(exc).__name__}"
    return f"{response.status_code} {response.text.strip()[:50]}"


def body_200mb(url: str) -> str:
    def chunks() -> Iterator[bytes]:
        span = b'{"traceId":"%s","id":"%016x","name":"x"},'
        yield b"["
        for i in range(200):
            yield b"".join(span % (uuid.uuid4().hex.encode(), i * 20_000 + j + 1)
                           for j in range(MiB // 60))
        yield b'{"traceId":"1","id":"1"}]'

    return _post(f"{url}/api/v2/spans", chunks(), {"Content-Type": "application/json"})


def bomb(size: int) -> bytes:
    """Multi-member gzip of 1 MiB blocks: 2 GiB of JSON whitespace in about 2 MiB."""
    return gzip.compress(b" " * MiB, 9) * (size // MiB)


def bomb_zipkin(url: str) -> str:
    body = bomb(2048 * MiB)  # JSON whitespace: the server inflates it before it can refuse it
    return _post(f"{url}/api/v2/spans", body,
                 {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def bomb_otlp(url: str) -> str:
    return _post(f"{url}/v1/traces", bomb(2048 * MiB),
                 {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def million_spans(url: str) -> str:
    body = b"[" + b",".join(b'{"traceId":"%x","id":"1"}' % (i + 1)
                            for i in range(1_000_000)) + b"]"
    return _post(f"{url}/api/v2/spans", body, {"Content-Type": "application/json"})


PROBES = {"200 MB body": body_200mb, "gzip bomb /api/v2/spans": bomb_zipkin,
          "gzip bomb /v1/traces": bomb_otlp, "1,000,000-span request": million_spans}


def fill(url: str, spans: int) -> None:
    """`spans` spans in traces of 10, each span with a few tags, posted in batches of 2,000."""
    now = int(time.time() * 1e6)
    batch = []
    for i in range(spans):
        trace = i // 10
        batch.append({"traceId": f"{trace + 1:032x}", "id": f"{i + 1:016x}",
                      "name": "get /api", "timestamp": now - trace * 1000, "duration": 100,
                      "localEndpoint": {"serviceName": f"svc{i % 6}"},
                      "tags": {"http.method": "GET", "k": str(i % 50), "env": "prod"}})
        if len(batch) == 2000:
            assert httpx.post(f"{url}/api/v2/spans", content=orjson.dumps(batch),
                              headers={"Content-Type": "application/json"}).status_code == 202
            batch = []


def query_ms(url: str, params: dict[str, str], runs: int = 20) -> float:
    times = []
    with httpx.Client(timeout=120) as http:
        for _ in range(runs):
            start = time.perf_counter()
            response = http.get(f"{url}/api/v2/traces", params=params)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return statistics.median(times) * 1000


def annotation_ratio(collector: Collector) -> tuple[float, float]:
    fill(collector.url, 20_000)
    plain = {"lookback": "86400000", "limit": "10"}
    terms = " and ".join(["http.method=GET", "env=prod"] + [f"k{i}" for i in range(97)])
    return query_ms(collector.url, plain), query_ms(collector.url, {**plain,
                                                                   "annotationQuery": terms})


@click.command()
@click.option("--baseline-repo", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An older checkout whose collector runs the same probes.")
@click.option("--only", default="", help="Run the probes whose name contains this (and the "
              "query only when it is 'query' or empty).")
def main(baseline_repo: Path | None, only: str) -> None:
    repos = {"this checkout": REPO}
    if baseline_repo:
        repos = {f"baseline {baseline_repo}": baseline_repo.resolve(), **repos}
    table = Table(title="collector peak RSS under hostile requests (MB)")
    table.add_column("probe")
    for name in repos:
        table.add_column(f"{name}: idle → peak", justify="right")
        table.add_column("answer")
    if baseline_repo:
        table.add_column("old/new peak", justify="right")
    queries = {}
    with tempfile.TemporaryDirectory() as tmp:
        for probe, action in PROBES.items():
            if only not in probe:
                continue
            row, peaks = [probe], []
            for repo in repos.values():
                collector = Collector(repo, Path(tmp))
                try:
                    idle, peak, answer, seconds = peak_rss(collector,
                                                           lambda a=action, c=collector: a(c.url))
                finally:
                    collector.close()
                peaks.append(peak)
                row += [f"{idle / MiB:.0f} → {peak / MiB:.0f} ({seconds:.1f} s)", answer]
            if baseline_repo:
                row.append(f"{peaks[0] / peaks[1]:.0f}x")
            table.add_row(*row)
            console.print(f"[dim]{probe} done[/]")
        for name, repo in repos.items():
            if only not in ("", "query"):
                break
            collector = Collector(repo, Path(tmp))
            try:
                queries[name] = annotation_ratio(collector)
            finally:
                collector.close()
    if table.rows:
        console.print(table)
    for name, (plain, many) in queries.items():
        console.print(f"{name}: /api/v2/traces at 20,000 spans — plain {plain:.1f} ms, "
                      f"99-term annotationQuery {many:.1f} ms ({many / plain:.1f}x the plain "
                      f"query)")


if __name__ == "__main__":
    main()
