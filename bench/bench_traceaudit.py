"""Benchmark: analyse generated order traces (Zipkin JSON) vs only parsing the file with orjson.

    .venv/bin/python bench/bench_traceaudit.py --spans 1000000   # ~300 MB, the issue's size

Prints the analysis time next to `orjson.loads` of the same file (same run), their ratio, peak
memory of the analysis against the file size (measured in a child process each, so one does not
inflate the other), and ms per trace. Targets: ratio ≤ 2, memory ≤ 3x, ≤ 0.09 ms/trace (CRISP).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path

import orjson

OUT = Path(__file__).resolve().parent / "out"
SPANS_PER_TRACE = 16


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


def _parse_only(path: str, q) -> None:
    t = time.perf_counter()
    data = orjson.loads(Path(path).read_bytes())
    q.put((time.perf_counter() - t, len(data), _peak()))


def _analyse(path: str, q) -> None:
    from traceaudit import analyse, hop_table, read_spans

    t = time.perf_counter()
    spans = read_spans(path, keep_tags=False)
    t_frame = time.perf_counter() - t
    analysis = analyse(spans)
    table = hop_table(analysis)
    q.put((time.perf_counter() - t, t_frame, len(analysis.traces), len(spans), _peak(),
           table[["hop", "cp_mean_ms"]].head(3).to_dict("records")))


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run(target, path: Path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(str(path), q))
    proc.start()
    result = q.get()
    proc.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=100_000, help="spans to generate (default 100k)")
    args = ap.parse_args()
    path = make_file(args.spans)
    size = path.stat().st_size
    parse_s, n_traces_parsed, parse_peak = _run(_parse_only, path)
    total_s, frame_s, n_traces, n_spans, peak, top = _run(_analyse, path)
    per_trace_ms = total_s / n_traces * 1000
    result = {
        "file_mb": round(size / 1e6, 1), "spans": n_spans, "traces": n_traces,
        "orjson_parse_s": round(parse_s, 3), "orjson_parse_peak_mb": round(parse_peak / 1e6),
        "traceaudit_s": round(total_s, 3), "of_which_spans_frame_s": round(frame_s, 3),
        "ratio_vs_parse": round(total_s / parse_s, 2),
        "peak_mb": round(peak / 1e6), "peak_vs_file": round(peak / size, 2),
        "ms_per_trace": round(per_trace_ms, 4), "crisp_ms_per_trace": 0.09,
        "top_hops": top,
    }
    print(json.dumps(result, indent=2))
    print(f"traceaudit {total_s:.2f} s vs orjson.loads {parse_s:.2f} s: "
          f"{total_s / parse_s:.2f}x (target ≤ 2x); peak {peak / 1e6:.0f} MB = "
          f"{peak / size:.2f}x the {size / 1e6:.0f} MB file (target < 3x); "
          f"{per_trace_ms:.4f} ms/trace vs CRISP 0.09")


if __name__ == "__main__":
    main()
