"""The exploration notebook runs top to bottom on traces saved from the live stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from services.loadgen import run_load
from traceaudit import Window, fetch_traces


def _wait_for_complete_traces(collector: str, placed: int, timeout_s: float = 30) -> None:
    """Spans reach the collector in batches: wait until `placed` order traces hold every hop."""
    deadline = time.monotonic() + timeout_s
    complete = 0
    while time.monotonic() < deadline:
        traces, _ = fetch_traces(Window.parse("15m"), zipkin=collector)
        complete = sum(
            {"gateway", "order", "customer", "product", "payment"}
            <= {s["localEndpoint"]["serviceName"] for s in trace}
            for trace in traces
        )
        if complete >= placed:
            return
        time.sleep(0.5)
    raise AssertionError(f"only {complete} of {placed} order traces complete in the collector")


NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_orders.ipynb"


def test_notebook_executes_on_a_saved_file(stack, tmp_path):
    result = asyncio.run(run_load(stack.gateway_url, orders=8, users=2, seed=7))
    placed = sum(n for status, n in result.orders.items() if 200 <= status < 300)
    assert placed, result.orders
    _wait_for_complete_traces(stack.collector_url, placed)
    saved = tmp_path / "orders.json"
    traceaudit = Path(sys.executable).with_name("traceaudit")
    subprocess.run([str(traceaudit), "fetch", "--zipkin", stack.collector_url,
                    "--since", "15m", "-o", str(saved)], check=True, timeout=60)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {"TRACES_FILE": str(saved), "LOG_DIR": str(stack.var_dir / "log")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    outputs = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
    )
    assert "orders; hops are the calls of 'order'" in outputs
    assert "slowest order: trace" in outputs
    assert "log lines from" in outputs and "0 log lines" not in outputs
    figures = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 2
