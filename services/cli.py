"""`shop`: run the reference shop in the background (thin over `services.stack`)."""

from __future__ import annotations

import os
import time

import click
from rich.console import Console
from rich.table import Table

from services.stack import READY_TIMEOUT, Stack, StackError

console = Console()


def _stack(only: str | None = None) -> Stack:
    programs = [p.strip() for p in only.split(",") if p.strip()] if only else None
    return Stack(programs=programs)


@click.group()
def main() -> None:
    """Run the reference shop: one supervisord per $SHOP_VAR_DIR, ports offset by
    $SHOP_PORT_OFFSET."""


@main.command()
@click.option("--timeout", default=READY_TIMEOUT, show_default=True, help="Seconds to wait.")
@click.option("--only", help="Comma-separated programs to run (default: all).")
def up(timeout: float, only: str | None) -> None:
    """Start the stack in the background and wait until every service is ready."""
    stack = _stack(only)
    start = time.monotonic()
    try:
        with console.status("starting the shop…"):
            stack.up(timeout=timeout)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"[green]shop up[/] in {time.monotonic() - start:.1f} s (var: {stack.var_dir})")
    _print_status(stack)


@main.command()
def down() -> None:
    """Stop every process of the stack (and supervisord)."""
    stack = _stack()
    try:
        stack.down()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print("shop down" + (f" ({stack.note})" if stack.note else ""))


@main.command()
def status() -> None:
    """State, pid, port and readiness of each program."""
    stack = _stack()
    _print_status(stack)
    if not stack.supervisor_running():
        raise SystemExit(3)


def _print_status(stack: Stack) -> None:
    table = Table("program", "state", "pid", "port", "ready")
    for row in stack.status():
        ready = str(row["ready"])
        table.add_row(
            str(row["name"]), str(row["state"]), str(row["pid"] or "-"), str(row["port"]),
            f"[green]{ready}[/]" if ready == "ready" else ready,
        )
    console.print(table)


@main.command()
@click.argument("name")
def stop(name: str) -> None:
    """Stop one program."""
    try:
        _stack().stop(name)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{name} stopped")


@main.command()
@click.argument("name")
@click.option("--timeout", default=READY_TIMEOUT, show_default=True)
def start(name: str, timeout: float) -> None:
    """Start one program and wait until it is ready."""
    try:
        _stack().start(name, timeout=timeout)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{name} ready")


@main.command()
@click.argument("name")
@click.option("-n", "--lines", default=40, show_default=True)
@click.option("--output", is_flag=True, help="Show the captured stdout/stderr, not the JSON log.")
def logs(name: str, lines: int, output: bool) -> None:
    """Last lines of a program's JSON log (or of its captured output)."""
    stack = _stack()
    try:
        stack.program(name)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    path = stack.output_path(name)
    if not output and stack.log_path(name).exists():
        path = stack.log_path(name)
    if not path.exists():
        raise click.ClickException(f"no log for {name} yet ({path})")
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 256 * 1024))
        tail = fh.read().decode(errors="replace").splitlines()[-lines:]
    click.echo(f"==> {path} <==")
    click.echo("\n".join(tail))


@main.command()
@click.argument("name", required=False)
@click.argument("variant", required=False)
@click.option("--only", metavar="KEY=VALUE",
              help="Apply the variant only where KEY equals VALUE (productId=1, service=order).")
@click.option("--file", "path", type=click.Path(dir_okay=False),
              help="Flag file (default: $SHOP_FLAGS_FILE or deploy/flags.json).")
def flag(name: str | None, variant: str | None, only: str | None, path: str | None) -> None:
    """Show the fault flags, or switch flag NAME to VARIANT (services see it within 1 s)."""
    import json
    from pathlib import Path

    from services.common import faults

    file = Path(path) if path else faults.default_path()
    try:
        if name is None:
            table = Table("flag", "variant", "variants", "targeting")
            for row in faults.describe(file):
                targeting = json.dumps(row["targeting"]) if row["targeting"] else "-"
                table.add_row(row["flag"], row["variant"], ", ".join(row["variants"]), targeting)
            console.print(table)
            return
        if variant is None:
            raise click.UsageError("give a VARIANT, e.g. `shop flag paymentFailure 50%`")
        target = tuple(only.split("=", 1)) if only else None
        if target is not None and len(target) != 2:
            raise click.UsageError("--only takes KEY=VALUE")
        faults.set_variant(file, name, variant, target)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{name} = {variant}" + (f" (only {only})" if only else "") + f" in {file}")


@main.command()
@click.option("--url", help="Gateway base URL (default: this stack's gateway).")
@click.option("--notify-timeout", default=20.0, show_default=True,
              help="Seconds to wait for the order's notifications.")
def smoke(url: str | None, notify_timeout: float) -> None:
    """Walk every public endpoint through the gateway; one PASS/FAIL line per check, exit 1 on
    any failure."""
    from services import smoke as smoke_checks

    target = url or _stack().gateway_url
    raise SystemExit(smoke_checks.main(target, notify_timeout=notify_timeout, echo=click.echo))


@main.command()
@click.option("--orders", default=120, show_default=True, help="Order attempts in all.")
@click.option("--users", default=6, show_default=True, help="Concurrent shoppers.")
@click.option("--slow-hop", type=click.Choice(["customer", "payment"]), default="customer",
              show_default=True, help="Hop slowed by a fault flag for the second half.")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False), default="reports",
              show_default=True, help="Where the HTML reports go.")
@click.option("--down", is_flag=True, help="Stop the shop at the end (default: leave it up).")
def demo(orders: int, users: int, slow_hop: str, reports_dir: str, down: bool) -> None:
    """Start the shop, drive load with one hop slowed, rank the hops, report the slowest order."""
    from pathlib import Path

    from services.demo import DemoError, run_demo

    try:
        run_demo(orders=orders, users=users, slow_hop=slow_hop, reports_dir=Path(reports_dir),
                 keep_up=not down)
    except (DemoError, StackError) as exc:
        raise click.ClickException(str(exc)) from exc
