"""Benchmark: analyse generated order traces (Zipkin JSON) vs only parsing the file with orjson.

    .venv/bin/python bench/bench_traceaudit.py --spans 1000000   # ~300 MB, the issue's size

Baselines, in the same run: reading the whole file and `orjson.loads` of it, with Python's GC on
(what a plain script does) and with `gc.disable()` (what traceaudit does while parsing: the fair
one). Each measurement runs in its own child process, so one does not inflate the other's peak
memory.
Prints wall and CPU seconds (CPU is steadier on a shared machine), the ratio to each baseline,
peak memory against the file size, and ms per trace for the whole pipeline and for the analysis
alone. Targets: ≤ 2x the GC-off parse, peak memory ≤ 2.2x the file.

CRISP (Uber's critical-path tool, `../shared/peers/crisp`) is measured in the same run on the
first `--crisp-traces` traces: they are written as Jaeger JSON (one file a trace; a shared server
gets its own span id, CHILD_OF its client; a consumer of a producer is FOLLOWS_FROM, which CRISP
does not follow), CRISP's per-trace `process()` runs in its own virtualenv ($CRISP_PYTHON, else
/tmp/crisp-venv, made from ../shared/peers/crisp if missing), and its critical path per service
is compared with traceaudit's on the same traces. Without ../shared the CRISP part is skipped
with one line.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", REPO.parent / "shared" / "peers"))
CRISP_PYTHON = Path(os.environ.get("CRISP_PYTHON", "/tmp/crisp-venv/bin/python"))
SPANS_PER_TRACE = 16
SERVICE, OPERATION = "gateway", "post /api/v1/orders"


def make_file(n_spans: int) -> Path:
    path = OUT / f"orders-{n_spans}.json"
    if path.exists():
        return path
    from traceaudit._synth import order_traces

    OUT.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(b"[")
        for i, trace in enumerate(order_traces(n_spans // SPANS_PER_TRACE,
                                               slow={"payment": 5_000})):
            fh.write((b",\n" if i else b"") + orjson.dumps(trace))
        fh.write(b"]")
    tmp.rename(path)
    return path


class _Clock:
    """Wall and CPU seconds since creation."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> dict:
        return {"wall_s": time.perf_counter() - self.wall, "cpu_s": time.process_time() - self.cpu}


def _parse_only(path: str, gc_on: bool, q) -> None:
    if not gc_on:
        gc.disable()
    clock = _Clock()
    traces = orjson.loads(Path(path).read_bytes())
    q.put({**clock.lap(), "traces": len(traces), "peak": _peak()})


def _pipeline(path: str, _gc_on: bool, q) -> None:
    from traceaudit import analyse, hop_table, read_spans

    clock = _Clock()
    spans = read_spans(path, keep_tags=False)
    frame = clock.lap()
    after_frame = _Clock()
    analysis = analyse(spans)
    table = hop_table(analysis)
    q.put({**clock.lap(), "frame": frame, "analysis": after_frame.lap(),
           "traces": len(analysis.traces), "spans": len(spans), "peak": _peak(),
           "top": table[["hop", "cp_mean_ms"]].head(3).round(3).to_dict("records")})


def to_jaeger(trace: list[dict]) -> dict:
    """One Zipkin v2 trace as the Jaeger JSON CRISP reads (`{"data": [trace]}`)."""
    tid = trace[0]["traceId"]
    kinds = {s["id"]: s.get("kind") for s in trace if not s.get("shared")}
    processes: dict[str, dict] = {}
    pids: dict[str, str] = {}
    spans = []
    for s in trace:
        svc = (s.get("localEndpoint") or {}).get("serviceName") or "?"
        pid = pids.setdefault(svc, f"p{len(pids) + 1}")
        processes[pid] = {"serviceName": svc, "tags": []}
        sid, parent = s["id"], s.get("parentId")
        if s.get("shared"):  # Jaeger's deduper: the server half gets its own id
            sid, parent = f"{s['id']}-server", s["id"]
        async_link = s.get("kind") == "CONSUMER" and kinds.get(parent) == "PRODUCER"
        tags = [{"key": k, "type": "string", "value": v} for k, v in
                (s.get("tags") or {}).items()]
        if s.get("kind"):
            tags.append({"key": "span.kind", "type": "string", "value": s["kind"].lower()})
        spans.append({"traceID": tid, "spanID": sid, "operationName": s.get("name", ""),
                      "references": [{"refType": "FOLLOWS_FROM" if async_link else "CHILD_OF",
                                      "traceID": tid, "spanID": parent}] if parent else [],
                      "startTime": s.get("timestamp", 0), "duration": s.get("duration", 0),
                      "processID": pid, "tags": tags, "logs": []})
    return {"data": [{"traceID": tid, "spans": spans, "processes": processes}]}


def crisp_python() -> Path | None:
    """CRISP's interpreter, installing it into its own virtualenv on first use (None: skip)."""
    if CRISP_PYTHON.exists():
        return CRISP_PYTHON
    source = PEERS / "crisp"
    if not (source / "pyproject.toml").is_file():
        return None
    venv = CRISP_PYTHON.parents[1]
    print(f"installing CRISP from {source} into {venv} (once)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:  # the shared tree is read-only: build a copy
        copy = Path(tmp) / "crisp"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # psutil: imported by its CLI module, missing from its package dependencies
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(copy), "psutil"],
                       check=True)
    return CRISP_PYTHON


def _traceaudit_on(path: str, _gc_on: bool, q) -> None:
    from traceaudit import analyse, read_spans

    clock = _Clock()
    spans = read_spans(path, keep_tags=False)
    analysis = analyse(spans, service=SERVICE, span=OPERATION)
    lap = clock.lap()
    a = analysis.spans
    under = a[(a["root_row"] >= 0) & ~a["asynchronous"]]
    per_service = (under.groupby("service", observed=True)["cp_us"].sum()
                   / len(analysis.traces) / 1000)
    q.put({**lap, "traces": len(analysis.traces), "peak": _peak(),
           "cp_ms_per_trace": {str(k): float(v) for k, v in per_service.items()}})


def measure_crisp(source: Path, n_traces: int) -> dict | None:
    """CRISP and traceaudit on the same first `n_traces` traces of `source`."""
    try:
        python = crisp_python()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"CRISP: skipped — could not install it into {CRISP_PYTHON.parents[1]}: {exc}")
        return None
    if python is None:
        print(f"CRISP: skipped — {PEERS / 'crisp'} not found (a fresh clone has no ../shared; "
              "set PEERS_DIR or CRISP_PYTHON)")
        return None
    folder = OUT / f"crisp-{n_traces}"
    subset = OUT / f"orders-first-{n_traces}.json"
    if not subset.exists() or not folder.is_dir():
        with open(source, "rb") as fh:
            traces = orjson.loads(fh.read())[:n_traces]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for trace in traces:
            (folder / f"{trace[0]['traceId']}.json").write_bytes(orjson.dumps(to_jaeger(trace)))
        subset.write_bytes(orjson.dumps(traces))
    ours = _run(_traceaudit_on, subset)
    out = subprocess.run([str(python), str(Path(__file__).with_name("_crisp_driver.py")),
                          str(folder), SERVICE, OPERATION], capture_output=True, text=True,
                         check=True)
    crisp = json.loads(out.stdout.strip().splitlines()[-1])
    services = sorted(set(ours["cp_ms_per_trace"]) | set(crisp["cp_ms_per_trace"]))
    diff = max(abs(ours["cp_ms_per_trace"].get(s, 0.0) - crisp["cp_ms_per_trace"].get(s, 0.0))
               for s in services)
    return {"traces": ours["traces"], "crisp_traces": crisp["traces"],
            "crisp": {k: _r(crisp[k]) for k in ("wall_s", "cpu_s")},
            "traceaudit_read_and_analyse": {k: _r(ours[k]) for k in ("wall_s", "cpu_s")},
            "crisp_slower_by": {k: _r(crisp[k] / ours[k], 1) for k in ("wall_s", "cpu_s")},
            "crisp_ms_per_trace": {k: _r(crisp[k] / max(crisp["traces"], 1) * 1000, 4)
                                   for k in ("wall_s", "cpu_s")},
            "cp_ms_per_trace_by_service": {s: [_r(ours["cp_ms_per_trace"].get(s, 0.0)),
                                               _r(crisp["cp_ms_per_trace"].get(s, 0.0))]
                                           for s in services},
            "max_service_difference_ms": diff}


def _peak() -> int:
    """This process's own peak RSS: VmHWM starts afresh at exec, whereas ru_maxrss is
    inherited by a spawned child from its parent (here, the parent that read CRISP's traces)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run(target, path: Path, gc_on: bool = True) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(str(path), gc_on, q))
    proc.start()
    result = q.get()
    proc.join()
    return result


def _r(x: float, digits: int = 3) -> float:
    return round(x, digits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=100_000, help="spans to generate (default 100k)")
    ap.add_argument("--crisp-traces", type=int, default=2000,
                    help="traces CRISP analyses, beside traceaudit on the same ones (0: none)")
    args = ap.parse_args()
    path = make_file(args.spans)
    size = path.stat().st_size
    gc_on = _run(_parse_only, path, gc_on=True)
    gc_off = _run(_parse_only, path, gc_on=False)
    ours = _run(_pipeline, path)
    n = ours["traces"]
    result = {
        "file_mb": _r(size / 1e6, 1), "spans": ours["spans"], "traces": n,
        "orjson_gc_on": {k: _r(gc_on[k]) for k in ("wall_s", "cpu_s")},
        "orjson_gc_off": {k: _r(gc_off[k]) for k in ("wall_s", "cpu_s")},
        "traceaudit": {k: _r(ours[k]) for k in ("wall_s", "cpu_s")},
        "of_which_spans_frame": {k: _r(v) for k, v in ours["frame"].items()},
        "of_which_analysis": {k: _r(v) for k, v in ours["analysis"].items()},
        "ratio_vs_gc_on": {k: _r(ours[k] / gc_on[k], 2) for k in ("wall_s", "cpu_s")},
        "ratio_vs_gc_off": {k: _r(ours[k] / gc_off[k], 2) for k in ("wall_s", "cpu_s")},
        "peak_mb": round(ours["peak"] / 1e6), "peak_vs_file": _r(ours["peak"] / size, 2),
        "orjson_gc_on_peak_vs_file": _r(gc_on["peak"] / size, 2),
        "ms_per_trace_pipeline": {k: _r(ours[k] / n * 1000, 4) for k in ("wall_s", "cpu_s")},
        "ms_per_trace_analysis": {k: _r(v / n * 1000, 4) for k, v in ours["analysis"].items()},
        "top_hops": ours["top"],
    }
    crisp = measure_crisp(path, args.crisp_traces) if args.crisp_traces else None
    if crisp:
        result["crisp_same_traces"] = crisp
    print(json.dumps(result, indent=2))
    for clock in ("wall_s", "cpu_s"):
        what = clock.removesuffix("_s")
        print(f"[{what}] traceaudit {ours[clock]:.2f} s "
              f"(frame {ours['frame'][clock]:.2f} + analysis {ours['analysis'][clock]:.2f}) | "
              f"orjson.loads GC on {gc_on[clock]:.2f} s → {ours[clock] / gc_on[clock]:.2f}x, "
              f"GC off {gc_off[clock]:.2f} s → {ours[clock] / gc_off[clock]:.2f}x (target ≤ 2x) | "
              f"{ours[clock] / n * 1000:.4f} ms/trace, analysis alone "
              f"{ours['analysis'][clock] / n * 1000:.4f}")
    print(f"peak {ours['peak'] / 1e6:.0f} MB = {ours['peak'] / size:.2f}x the "
          f"{size / 1e6:.0f} MB file (target ≤ 2.2x)")
    if crisp:
        for clock in ("wall_s", "cpu_s"):
            print(f"[{clock.removesuffix('_s')}] CRISP process() on {crisp['crisp_traces']} "
                  f"traces {crisp['crisp'][clock]:.2f} s vs traceaudit read + analyse "
                  f"{crisp['traceaudit_read_and_analyse'][clock]:.2f} s → CRISP "
                  f"{crisp['crisp_slower_by'][clock]:.1f}x slower")
        print(f"critical path per service, ms per trace (traceaudit, CRISP): "
              f"{crisp['cp_ms_per_trace_by_service']}; largest difference "
              f"{crisp['max_service_difference_ms']:.6f} ms")
    # the same traces as Jaeger JSON and OTLP JSON lines (bench/_trace_formats.py)
    from _trace_formats import report as format_report

    format_report(path, ours, _run, _pipeline)


if __name__ == "__main__":
    main()
