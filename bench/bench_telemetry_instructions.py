"""Benchmark of the telemetry overhead in CPU instructions: one service under callgrind.

    .venv/bin/python bench/bench_telemetry_instructions.py --service order --orders 20
    .venv/bin/python bench/bench_telemetry_instructions.py --service order --tree ../other-checkout

`bench_telemetry.py` measures time, which this VM's drift blurs by a few % from one minute to
the next. Instructions do not drift: valgrind's callgrind counts them, the same for the same
work whatever the machine is doing. Here a shop stack runs as usual except one service, which
runs under callgrind; its instructions are counted while `--orders` orders go through the
gateway one at a time, and until the service is idle again and has exported their spans, less
what its clock-driven background work (polls) costs in that time, counted while idle. Done
with tracing on (Zipkin exporter) and with `OTEL_SDK_DISABLED=true`; the ratio is that
service's tracing overhead in CPU work. `--tree` runs the measured service from another source
tree (e.g. a checkout of an earlier commit) to compare two versions of the code. A service is
~50x slower under callgrind: a run takes a minute or two a side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click
import httpx
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import _callgrind as callgrind  # noqa: E402
from bench_telemetry import make_stack  # noqa: E402

from services.common.telemetry import SCHEDULE_DELAY_MS  # noqa: E402
from services.stack import Stack  # noqa: E402
from tests.services.test_telemetry import order_body  # noqa: E402

IDLE_S = 10.0  # seconds of idle counted, for the rate of the service's background work
SERVICES = ("gateway", "order", "customer", "product", "payment", "notification")
console = Console()


def _wait_ready(stack: Stack, service: str, process: subprocess.Popen,
                timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (reason := stack.probe(service)) is not None:
        if process.poll() is not None:
            raise click.ClickException(f"the service under callgrind exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise click.ClickException(f"{service} not ready after {timeout:.0f} s under "
                                       f"callgrind: {reason}")
        time.sleep(2)


def _wait_idle(pid: int, quiet_s: float = 3.0, busy_share: float = 0.1) -> None:
    """Until the process used less than `busy_share` of a core for `quiet_s` seconds."""
    process = psutil.Process(pid)
    while True:
        before = sum(process.cpu_times()[:2])
        time.sleep(quiet_s)
        if sum(process.cpu_times()[:2]) - before < busy_share * quiet_s:
            return


def _order(http: httpx.Client, body: dict) -> None:
    response = http.post("/api/v1/orders", json=body)
    if response.status_code != 200:
        raise click.ClickException(f"an order failed, the count would be off: "
                                   f"{response.status_code} {response.text[:300]}")


def instructions_per_order(stack: Stack, service: str, orders: int, tree: Path, out: Path) -> int:
    """Instructions `service` (run from `tree` under callgrind) spends an order."""
    with httpx.Client(base_url=stack.gateway_url, timeout=60) as http:
        body = order_body(http)
    stack.stop(service)
    env = {**os.environ, **stack.program_env(),
           # a connection takes ~50x longer to set up under callgrind than the 2 s allowed
           "DATABASE_CONNECT_TIMEOUT": "30"}
    with open(f"{out}.log", "w") as log:
        process = subprocess.Popen(
            [*callgrind.command(out), sys.executable, "-m", f"services.{service}"],
            cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(stack, service, process)
        with httpx.Client(base_url=stack.gateway_url, timeout=60) as http:
            for _ in range(3):  # warm-up: first-use imports and caches are not the cost of an order
                _order(http, body)
            _wait_idle(process.pid)
            # Background work (outbox and settler polls, queue-depth checks) runs by the clock:
            # its rate, counted while idle, is taken off the orders' window.
            callgrind.control(process.pid, "--instr=on")
            idle_s = _timed(time.sleep, IDLE_S)
            callgrind.control(process.pid, "--dump")
            orders_s = _timed(_place, http, body, orders)
        orders_s += _timed(time.sleep, SCHEDULE_DELAY_MS / 1000 + 1)  # their spans get exported
        orders_s += _timed(_wait_idle, process.pid)
        callgrind.control(process.pid, "--instr=off")
        callgrind.control(process.pid, "--dump")
    finally:
        process.terminate()
        process.wait(60)
    idle, busy = (callgrind.total(f"{out}.{n}") for n in (1, 2))  # each dump counts since the last
    return round((busy - idle * orders_s / idle_s) / orders)


def _timed(func: Callable[..., object], *args: object) -> float:
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start


def _place(http: httpx.Client, body: dict, orders: int) -> None:
    for _ in range(orders):
        _order(http, body)


@click.command()
@click.option("--service", "services", multiple=True, default=["order"], show_default=True,
              type=click.Choice(SERVICES), help="service(s) to count, one run each a side")
@click.option("--orders", default=20, show_default=True, help="orders counted a run")
@click.option("--tree", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=REPO, help="source tree the counted service runs from")
@click.option("--offset", default=5900, show_default=True, help="port offset of the stacks")
def main(services: tuple[str, ...], orders: int, tree: Path, offset: int) -> None:
    """Instructions an order of each service, tracing on vs off, and their ratio."""
    callgrind.require()
    work = Path(tempfile.mkdtemp(prefix="bench_instructions_"))
    counts: dict[tuple[str, str], int] = {}
    try:
        for service in services:
            for side, exporter in (("on", "zipkin"), ("off", None)):
                stack = make_stack(offset, work / f"{service}-{side}", exporter)
                with console.status(f"{service}, tracing {side}: {orders} orders under callgrind"):
                    stack.up()
                    try:
                        counts[service, side] = instructions_per_order(
                            stack, service, orders, tree.resolve(),
                            work / f"callgrind.{service}.{side}")
                    finally:
                        stack.down()
                console.print(f"{service} tracing {side}: {counts[service, side]:,} instructions "
                              "an order")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = Table(title=f"instructions an order, {orders} orders (code: {tree.resolve()})")
    for column in ("service", "OTEL_SDK_DISABLED=true", "tracing on", "on - off", "ratio on/off"):
        table.add_column(column, justify="left" if column == "service" else "right")
    rows = [(service, counts[service, "on"], counts[service, "off"]) for service in services]
    if len(rows) > 1:
        rows.append(("all counted", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    for name, on, off in rows:
        table.add_row(name, f"{off:,}", f"{on:,}", f"{on - off:+,}", f"{on / off:.3f}")
    console.print(table)
    on, off = rows[-1][1:]
    verdict = "within" if on / off <= 1.10 else "ABOVE"
    console.print(f"tracing costs {on / off - 1:+.1%} of the instructions of {rows[-1][0]} — "
                  f"{verdict} the 10% target")


if __name__ == "__main__":
    main()
