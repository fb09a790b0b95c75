"""Benchmark: analyse generated order traces (Zipkin JSON) vs only parsing the file with orjson.

    .venv/bin/python bench/bench_traceaudit.py --spans 1000000   # ~300 MB, the issue's size

Baselines, in the same run: reading the whole file and `orjson.loads` of it, with Python's GC on
(what a plain script does) and with `gc.disable()` (what traceaudit does while parsing: the fair
one). Each measurement runs in its own child process, so one does not inflate the other's peak
memory.
Prints wall and CPU seconds (CPU is steadier on a shared machine), the ratio to each baseline,
peak memory against the file size, and ms per trace for the whole pipeline and for the analysis
alone. Targets: ≤ 2x the GC-off parse, memory < 3x the file, analysis ≤ 0.09 ms/trace (CRISP).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path

import orjson

OUT = Path(__file__).resolve().parent / "out"
SPANS_PER_TRACE = 16
CRISP_MS_PER_TRACE = 0.09


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


def _peak() -> int:
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
        "crisp_ms_per_trace": CRISP_MS_PER_TRACE,
        "top_hops": ours["top"],
    }
    print(json.dumps(result, indent=2))
    for clock in ("wall_s", "cpu_s"):
        what = clock.removesuffix("_s")
        print(f"[{what}] traceaudit {ours[clock]:.2f} s "
              f"(frame {ours['frame'][clock]:.2f} + analysis {ours['analysis'][clock]:.2f}) | "
              f"orjson.loads GC on {gc_on[clock]:.2f} s → {ours[clock] / gc_on[clock]:.2f}x, "
              f"GC off {gc_off[clock]:.2f} s → {ours[clock] / gc_off[clock]:.2f}x (target ≤ 2x) | "
              f"{ours[clock] / n * 1000:.4f} ms/trace, analysis alone "
              f"{ours['analysis'][clock] / n * 1000:.4f} (CRISP {CRISP_MS_PER_TRACE})")
    print(f"peak {ours['peak'] / 1e6:.0f} MB = {ours['peak'] / size:.2f}x the "
          f"{size / 1e6:.0f} MB file (target < 3x)")


if __name__ == "__main__":
    main()
