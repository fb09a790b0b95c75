"""Run RCAEval's trace methods on saved windows; executed by the peer venv's Python, not ours.

    <peer venv>/bin/python bench/_rcaeval_peer.py RUNS.json

RUNS.json is a list of {"name", "spans": CSV path, "inject_time": µs}; the CSV has RCAEval's
span columns (traceID, spanID, parentSpanID, serviceName, operationName, methodName,
startTime, duration in µs). Prints one JSON object a line: {"name", "method", "ranks"} or
{"name", "method", "error"}. The method modules are loaded from their files, so the package's
`e2e/__init__.py` (and what it imports) is not needed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import time
from pathlib import Path

import pandas as pd


def _load(name: str):
    import RCAEval

    path = Path(RCAEval.__file__).parent / "e2e" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"rcaeval_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def main(runs_file: str) -> None:
    methods = {name: _load(name) for name in ("tracerca", "microrank")}
    for run in json.loads(Path(runs_file).read_text()):
        spans = pd.read_csv(run["spans"], dtype={"traceID": str, "spanID": str,
                                                 "parentSpanID": str})
        for name, method in methods.items():
            started = time.perf_counter()
            out = {"name": run["name"], "method": name}
            try:
                with contextlib.redirect_stderr(io.StringIO()), \
                        contextlib.redirect_stdout(io.StringIO()):
                    result = method(spans.copy(), inject_time=run["inject_time"])
                out["ranks"] = [str(r) for r in result.get("ranks", [])]
            except Exception as exc:  # noqa: BLE001 (a peer's crash is a result to report)
                out["error"] = f"{type(exc).__name__}: {exc}"[:200]
            out["seconds"] = round(time.perf_counter() - started, 3)
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
