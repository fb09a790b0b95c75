"""The whole toolkit on live traffic: start the shop, drive load with one hop slowed on purpose
for part of the run, rank the hops with traceaudit, and join the slowest order's logs with logcorr.

Each step says what it does and how long it took; a failing step names itself and the log to
read. The CLIs are run as a user would run them, so the demo doubles as their walkthrough.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.common import faults
from services.common.telemetry import SCHEDULE_DELAY_MS
from services.stack import REPO, Stack

console = Console()

# The fault switch the demo flips: (flag, variant, the hop that must rank first).
SLOW_HOPS: dict[str, tuple[str, str]] = {
    "customer": ("customerSlowdown", "1s"),
    "payment": ("paymentSlowdown", "500ms"),
}


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and the log to read."""


@dataclass
class DemoResult:
    """What the demo produced: the ranking, the reports, and the slowest order's trace."""

    ranking: dict
    orders_report: Path
    trace_report: Path
    slowest_trace: str
    load: dict


@contextlib.contextmanager
def step(title: str, log_hint: str) -> Iterator[None]:
    """Announce a step, time it, and turn any failure into a DemoError naming it."""
    console.print(f"[bold blue]==>[/] {title}")
    started = time.monotonic()
    try:
        yield
    except Exception as exc:  # a demo step fails as one readable line
        raise DemoError(f"step '{title}' failed: {exc}\n    read: {log_hint}") from exc
    console.print(f"    [green]done[/] in {time.monotonic() - started:.1f} s")


def _run(args: list[str], env: dict[str, str], log_hint: str) -> str:
    """Run one of the project's CLIs, echoing the command; its stdout is returned."""
    console.print(f"    [dim]$ {' '.join(args)}[/]")
    exe = Path(sys.executable).with_name(args[0])
    proc = subprocess.run([str(exe), *args[1:]], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{args[0]} exited {proc.returncode}: {' / '.join(tail)} "
                           f"(see {log_hint})")
    return proc.stdout


def _load(stack: Stack, orders: int, users: int, seed: int, label: str) -> dict:
    from services.loadgen import run_load

    with Progress(TextColumn(f"    {label}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=orders)

        def tick(result) -> None:
            bar.update(task, completed=min(orders, sum(result.orders.values())))

        result = asyncio.run(run_load(stack.gateway_url, orders=orders, users=users, seed=seed,
                                      on_request=tick))
    by_status = {str(k): v for k, v in sorted(result.orders.items())}
    console.print(f"    {result.total} requests, orders by status {by_status}, "
                  f"{result.seconds:.1f} s")
    if result.errors:
        console.print(f"    [yellow]{len(result.errors)} transport errors[/], first: "
                      f"{result.errors[0]}")
    if result.stopped:
        console.print(f"    [yellow]load {result.stopped}[/]")
    if not any(200 <= int(k) < 300 for k in by_status):
        raise RuntimeError(result.stopped or f"no order succeeded ({by_status})")
    return {"requests": result.total, "orders": by_status, "seconds": round(result.seconds, 1)}


def run_demo(
    *,
    orders: int = 120,
    users: int = 6,
    slow_hop: str = "customer",
    reports_dir: Path = REPO / "reports",
    keep_up: bool = True,
    env: dict[str, str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo end to end and return what it produced (see the module docstring)."""
    stack = Stack(env=env)
    run_env = {**stack.env}
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    flag, variant = SLOW_HOPS[slow_hop]
    flags_file = Path(stack.settings.shop_flags_file)
    supervisor_log = stack.supervisor_dir / "supervisord.log"
    started = time.monotonic()
    try:
        with step("starting the shop (shop up)", f"{supervisor_log} and {stack.var_dir}/log/"):
            stack.up()
            console.print(f"    gateway {stack.gateway_url}, collector {stack.collector_url}")
        # the ranking reads this demo's orders only, not whatever else the collector holds
        since = datetime.now(UTC).isoformat(timespec="seconds")
        load = {}
        with step(f"load, normal: {orders // 2} orders by {users} shoppers",
                  f"{stack.log_path('gateway')}"):
            load["normal"] = _load(stack, orders // 2, users, 1, "normal")
        with step(f"fault switch on: {flag} = {variant} (the {slow_hop} hop slows down)",
                  str(flags_file)):
            faults.set_variant(flags_file, flag, variant)
            time.sleep(1.5)  # services re-read the flag file at most once a second
        try:
            with step(f"load, degraded: {orders - orders // 2} orders",
                      f"{stack.log_path(slow_hop)}"):
                load["degraded"] = _load(stack, orders - orders // 2, users, 2, "degraded")
        finally:
            faults.set_variant(flags_file, flag, "off")
            console.print(f"    fault switch off: {flag} = off")
        time.sleep(SCHEDULE_DELAY_MS / 1000 + 0.5)  # the span processors' last export

        orders_report = reports_dir / "orders.html"
        with step(f"traceaudit orders --since {since}", f"{stack.log_path('collector')}"):
            out = _run(["traceaudit", "orders", "--since", since, "--zipkin",
                        stack.collector_url, "--format", "json", "--html", str(orders_report)],
                       run_env, stack.log_path("collector"))
            ranking = json.loads(out)
            print(_table_text(run_env, stack, since), flush=True)
        slowest = _slowest_trace(stack.collector_url, since)
        trace_report = reports_dir / f"trace-{slowest}.html"
        with step(f"logcorr report {slowest} (the slowest order)",
                  f"{stack.var_dir}/log/*.jsonl"):
            _run(["logcorr", "report", slowest, str(stack.var_dir / "log"), "--zipkin",
                  stack.collector_url, "-o", str(trace_report)], run_env,
                 f"{stack.var_dir}/log/")
    finally:
        if not keep_up:
            with step("shop down", str(supervisor_log)):
                stack.down()
    top = ranking["hops"][0]["hop"] if ranking.get("hops") else None
    console.print(f"\n[bold]top hop:[/] {top} (slowed on purpose: {slow_hop})")
    console.print(f"[bold]reports:[/]\n  {orders_report}\n  {trace_report}")
    console.print(f"demo finished in {time.monotonic() - started:.0f} s"
                  + ("; the shop is still up (`shop down` stops it)" if keep_up else ""))
    return DemoResult(ranking=ranking, orders_report=orders_report, trace_report=trace_report,
                      slowest_trace=slowest, load=load)


def _table_text(env: dict[str, str], stack: Stack, since: str) -> str:
    """The ranking table as traceaudit prints it on a terminal."""
    return _run(["traceaudit", "orders", "--since", since, "--zipkin", stack.collector_url,
                 "--no-html"], {**env, "COLUMNS": "160"}, stack.log_path("collector")).rstrip()


def _slowest_trace(collector_url: str, since: str) -> str:
    """Trace id of the slowest order placement since `since` (the demo's start)."""
    from traceaudit import Window, analyse, fetch_traces, spans_frame

    traces, _ = fetch_traces(Window.parse(since), zipkin=collector_url)
    analysis = analyse(spans_frame(traces))
    if not len(analysis.traces):
        raise DemoError("no order traces found in the collector")
    return str(analysis.traces.sort_values("duration_us").iloc[-1]["trace_id"])
