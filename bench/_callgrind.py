"""Counting CPU instructions with valgrind's callgrind, for the instruction benchmarks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import click


def require() -> None:
    """Fail at once, and clearly, where valgrind is missing."""
    if not shutil.which("valgrind"):
        raise click.ClickException("valgrind is not installed (Debian package valgrind)")


def command(out: Path) -> list[str]:
    """The prefix that runs a program under callgrind, counting only once switched on."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def control(pid: int, *args: str) -> None:
    """`callgrind_control ARGS PID`: e.g. `--instr=on`, `--instr=off`, `--dump`."""
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def total(dump: Path | str) -> int:
    """The instructions counted in one callgrind dump (its `totals:` line; `summary:`, which
    callgrind_annotate reads, wraps around below zero in every dump after the first)."""
    found = re.search(r"^totals:\s*(\d+)", Path(dump).read_text(), re.M)
    if not found:
        raise click.ClickException(f"no totals in {dump}")
    return int(found.group(1))
