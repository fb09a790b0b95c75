"""`shop up | status | down` as a user runs them: a whole stack healthy in < 60 s, none left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.fixtures.stack import fresh_stack, session_offset

SHOP = str(Path(sys.executable).with_name("shop"))


def shop(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([SHOP, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def processes_of(var_dir: Path) -> list[int]:
    """Live processes whose environment points at `var_dir` (i.e. belong to that stack)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("SHOP_VAR_DIR") == str(var_dir) and proc.pid != os.getpid():
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def test_shop_up_is_healthy_fast_twice_harmless_and_down_leaves_nothing(tmp_path: Path) -> None:
    stack = fresh_stack(session_offset() + 500, tmp_path)
    env = stack.env
    try:
        start = time.monotonic()
        up = shop("up", env=env)
        elapsed = time.monotonic() - start
        assert up.returncode == 0, up.stdout + up.stderr
        assert elapsed < 60, f"shop up took {elapsed:.1f} s"

        status = shop("status", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        for program in stack.programs:
            line = next(ln for ln in status.stdout.splitlines() if f" {program.name} " in ln)
            assert "RUNNING" in line and "ready" in line, status.stdout

        pids = stack.pids()
        assert len(pids) == len(stack.programs) + 1  # supervisord + one per program
        again = shop("up", env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert stack.pids() == pids  # nothing restarted, nothing doubled
    finally:
        down = shop("down", env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert processes_of(stack.var_dir) == []
    assert shop("status", env=env).returncode == 3  # "not running"


def test_stop_and_start_one_program(stack) -> None:
    """`stop NAME` / `start NAME` act on one program of a running stack only."""
    name, env = "customer", stack.env
    before = {r["name"]: r["pid"] for r in stack.status()}
    stopped = shop("stop", name, env=env)
    assert stopped.returncode == 0, stopped.stderr
    after_stop = {r["name"]: (r["state"], r["pid"]) for r in stack.status()}
    assert after_stop[name][0] == "STOPPED"
    assert all(after_stop[n][1] == before[n] for n in before if n != name)
    started = shop("start", name, env=env)
    assert started.returncode == 0, started.stderr
    assert "ready" in started.stdout
    logs = shop("logs", name, "-n", "3", env=env)
    assert logs.returncode == 0 and str(stack.log_path(name)) in logs.stdout
