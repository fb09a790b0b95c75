"""Benchmark of the telemetry overhead: orders through the gateway, tracing on vs off.

    .venv/bin/python bench/bench_telemetry.py --orders 600 --concurrency 1
    .venv/bin/python bench/bench_telemetry.py --orders 600 --concurrency 1 --control  # A/A

Two shop stacks run side by side on their own port offsets, databases and vhosts: one with
tracing on (Zipkin exporter to its local collector), the baseline with `OTEL_SDK_DISABLED=true`
(logs and metrics stay on in both). Orders are placed in alternating rounds on the two stacks
(20 by default: this VM's speed drifts by several % within a minute, and with 6 rounds two
identical stacks came out up to 9% apart), so a drift hits both alike; after each round the
stack idles for one export interval, so its spans are exported (their CPU counted) before the
other round starts, not during it. The table gives orders/s and p50/p99 latency of each, the
CPU each process spent per order, and the ratios (target: tracing costs at most 10%); then the
overhead of each pair of rounds (median and quartiles). With `--concurrency 1` the ratios are
the latency cost of tracing; with more clients on a saturated machine, throughput follows the
CPU spent per order. The services' CPU an order is also given corrected by the mail sink's
(untraced on both sides, so its ratio is the machine's drift alone): the steadiest figure.
`--control` runs two untraced stacks: the noise floor of one run.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx
import psutil
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.common.telemetry import SCHEDULE_DELAY_MS  # noqa: E402
from services.stack import Stack, fresh_vhost, reset_databases  # noqa: E402
from tests.services.test_telemetry import order_body  # noqa: E402

PROGRAMS = ["collector", "mailsink", "customer", "product", "order", "payment", "notification",
            "gateway"]
SERVICES = {"gateway", "customer", "product", "order", "payment", "notification"}
SETTLE_S = SCHEDULE_DELAY_MS / 1000 + 0.5  # one export interval of the traced stack, and some
console = Console()


@dataclass
class Side:
    """One stack of the comparison and what its orders took."""

    label: str
    stack: Stack
    body: dict = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    round_rates: list[float] = field(default_factory=list)  # orders/s of each measured round
    seconds: float = 0.0
    failures: int = 0
    processes: dict[str, psutil.Process] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used while ordering

    def cpu_times(self) -> dict[str, float]:
        return {name: sum(p.cpu_times()[:2]) for name, p in self.processes.items()}

    def cpu_ms_per_order(self, names: set[str]) -> float:
        used = sum(v for k, v in self.cpu.items() if k in names)
        return used * 1000 / max(1, len(self.latencies))

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_stack(offset: int, var_dir: Path, exporter: str | None) -> Stack:
    """A fresh stack; `exporter` None means `OTEL_SDK_DISABLED=true`."""
    var_dir.mkdir(parents=True, exist_ok=True)
    flags = shutil.copyfile(REPO / "deploy" / "flags.json", var_dir / "flags.json")
    env = {
        "SHOP_PORT_OFFSET": str(offset),
        "SHOP_VAR_DIR": str(var_dir),
        "SHOP_DB_PREFIX": f"b{offset}_",
        "BROKER_URL": fresh_vhost(f"b{offset}"),
        "SHOP_FLAGS_FILE": str(flags),
        "OTEL_SDK_DISABLED": "false" if exporter else "true",
        "OTEL_TRACES_EXPORTER": exporter or "none",
    }
    stack = Stack(env, programs=PROGRAMS)
    reset_databases(stack.settings)
    return stack


async def place_orders(side: Side, n: int, concurrency: int, progress: Progress, task,
                       settle: float = 0.0) -> None:
    """`n` orders through the gateway, `concurrency` at a time; latencies into `side`.

    CPU is read `settle` seconds after the last order, so the spans of this round are exported
    (and counted) before the other stack's round starts instead of slowing that one down.
    """
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            start = time.perf_counter()
            response = await client.post("/api/v1/orders", json=side.body)
            if response.status_code == 200:
                side.latencies.append(time.perf_counter() - start)
            else:
                side.failures += 1
            progress.advance(task)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=side.stack.gateway_url, timeout=30,
                                 limits=limits) as client:
        cpu_before, start, done = side.cpu_times(), time.perf_counter(), len(side.latencies)
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        side.seconds += elapsed
        side.round_rates.append((len(side.latencies) - done) / elapsed)
        await asyncio.sleep(settle)
        for name, used in side.cpu_times().items():
            side.cpu[name] = side.cpu.get(name, 0.0) + used - cpu_before[name]


def report(on: Side, off: Side, concurrency: int, control: bool = False) -> None:
    table = Table(title=f"orders through the gateway ({concurrency} concurrent clients)")
    columns = ("stack", "orders", "failed", "orders/s", "p50 ms", "p99 ms",
               "service CPU ms/order", "collector CPU ms/order")
    for column in columns:
        table.add_column(column, justify="right" if column != "stack" else "left")
    for side in (off, on):
        table.add_row(side.label, str(len(side.latencies)), str(side.failures),
                      f"{side.rate:.1f}", f"{side.quantile(0.5) * 1000:.1f}",
                      f"{side.quantile(0.99) * 1000:.1f}",
                      f"{side.cpu_ms_per_order(SERVICES):.1f}",
                      f"{side.cpu_ms_per_order({'collector'}):.1f}")
    table.add_row(
        "ratio on/off", "", "", f"{on.rate / off.rate:.3f}",
        f"{on.quantile(0.5) / off.quantile(0.5):.3f}",
        f"{on.quantile(0.99) / off.quantile(0.99):.3f}",
        f"{on.cpu_ms_per_order(SERVICES) / off.cpu_ms_per_order(SERVICES):.3f}", "",
        style="bold",
    )
    console.print(table)
    by_process = Table(title="CPU ms per order by process")
    for column in ("process", "off", "on", "on - off"):
        by_process.add_column(column, justify="right" if column != "process" else "left")
    for name in sorted(on.cpu, key=lambda n: on.cpu_ms_per_order({n}), reverse=True):
        used_on, used_off = on.cpu_ms_per_order({name}), off.cpu_ms_per_order({name})
        by_process.add_row(name, f"{used_off:.1f}", f"{used_on:.1f}",
                           f"{used_on - used_off:+.1f}")
    console.print(by_process)
    pairs = [b / a - 1 for a, b in zip(on.round_rates, off.round_rates, strict=True)]
    if len(pairs) >= 4:
        q1, median, q3 = statistics.quantiles(pairs, n=4)
        console.print(f"overhead per pair of rounds ({len(pairs)} pairs): median "
                      f"{median * 100:+.1f}%, quartiles {q1 * 100:+.1f}% / {q3 * 100:+.1f}% "
                      "(the spread is the machine's drift between two rounds)")
    # The mail sink runs untraced in both stacks and does the same work an order, so its CPU
    # an order follows the machine's speed while each stack ran: a correction for the drift.
    speed = on.cpu_ms_per_order({"mailsink"}) / off.cpu_ms_per_order({"mailsink"})
    cpu_cost = on.cpu_ms_per_order(SERVICES) / off.cpu_ms_per_order(SERVICES) / speed - 1
    console.print(f"service CPU an order: {cpu_cost * 100:+.1f}% once corrected by the untraced "
                  f"mail sink's ratio ({speed:.3f}), which follows the machine's drift")
    overhead = off.rate / on.rate - 1
    if control:
        console.print(f"control (A/A): the two untraced stacks differ by {overhead * 100:+.1f}% "
                      "in throughput: the noise floor of one run")
        return
    verdict = "within" if overhead <= 0.10 else "ABOVE"
    console.print(f"tracing overhead (throughput): {overhead * 100:+.1f}% — {verdict} the 10% "
                  f"target; mean latency {statistics.mean(on.latencies) * 1000:.1f} ms on vs "
                  f"{statistics.mean(off.latencies) * 1000:.1f} ms off")


@click.command()
@click.option("--orders", default=300, show_default=True, help="orders per stack")
@click.option("--rounds", default=20, show_default=True, help="alternating rounds")
@click.option("--concurrency", default=4, show_default=True)
@click.option("--exporter", type=click.Choice(["zipkin", "otlp", "none"]), default="zipkin",
              show_default=True, help="OTEL_TRACES_EXPORTER of the traced stack")
@click.option("--offset", default=5500, show_default=True,
              help="port offset of the traced stack; the baseline uses offset + 100")
@click.option("--control", is_flag=True,
              help="A/A run: both stacks untraced, to show the benchmark's own noise")
def main(orders: int, rounds: int, concurrency: int, exporter: str, offset: int,
         control: bool) -> None:
    """Orders/s and p50/p99 with tracing on and off, side by side, and their ratio."""
    work = Path(tempfile.mkdtemp(prefix="bench_telemetry_"))
    if control:
        on = Side("untraced (control)", make_stack(offset, work / "on", None))
    else:
        on = Side(f"tracing on ({exporter})", make_stack(offset, work / "on", exporter))
    off = Side("OTEL_SDK_DISABLED=true", make_stack(offset + 100, work / "off", None))
    try:
        with console.status("starting two stacks"):
            for side in (on, off):
                side.stack.up()
                side.processes = {row["name"]: psutil.Process(row["pid"])
                                  for row in side.stack.status() if row["pid"]}
                with httpx.Client(base_url=side.stack.gateway_url, timeout=30) as http:
                    side.body = order_body(http)
        per_round = max(1, orders // rounds)
        with Progress(console=console) as progress:
            warm = progress.add_task("warm-up", total=2 * concurrency * 2)
            for side in (on, off):
                asyncio.run(place_orders(side, concurrency * 2, concurrency, progress, warm))
                side.latencies.clear()
                side.round_rates.clear()
                side.seconds, side.failures, side.cpu = 0.0, 0, {}
            task = progress.add_task("orders", total=2 * per_round * rounds)
            for r in range(rounds):
                for side in (on, off) if r % 2 == 0 else (off, on):
                    asyncio.run(place_orders(side, per_round, concurrency, progress, task,
                                             settle=SETTLE_S))
        report(on, off, concurrency, control)
    finally:
        with console.status("stopping the stacks"):
            for side in (on, off):
                side.stack.down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
