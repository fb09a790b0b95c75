"""The benchmark's order traces written as Jaeger JSON and as OTLP JSON lines (same traces as the
Zipkin file), for timing the Jaeger-file and OTLP-file paths against the Zipkin-file one."""

from __future__ import annotations

from pathlib import Path

import orjson

BATCH = 64  # traces a line of the OTLP file (the Collector writes one batch a line)


def _traces(zipkin_path: Path):
    from traceaudit.sources.files import iter_file_traces

    for chunk in iter_file_traces(zipkin_path):
        yield from chunk


def make_format_file(zipkin_path: Path, fmt: str) -> Path:
    """`orders-N.jaeger.json` or `orders-N.otlp.jsonl` beside the Zipkin file (made once)."""
    from traceaudit.sources._export import to_jaeger, to_otlp

    suffix = {"jaeger": ".jaeger.json", "otlp": ".otlp.jsonl"}[fmt]
    path = zipkin_path.with_suffix(suffix)
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    traces = list(_traces(zipkin_path))
    with open(tmp, "wb") as fh:
        if fmt == "jaeger":  # the UI's download: {"data": [trace, ...]}
            fh.write(b'{"data":[')
            for i, trace in enumerate(traces):
                fh.write((b",\n" if i else b"") + orjson.dumps(to_jaeger([trace])["data"][0]))
            fh.write(b"]}\n")
        else:
            for i in range(0, len(traces), BATCH):
                fh.write(orjson.dumps(to_otlp(traces[i:i + BATCH])) + b"\n")
    tmp.rename(path)
    return path


def report(zipkin_path: Path, zipkin: dict, run, pipeline, target: float = 1.5) -> dict:
    """Time the Jaeger-file and OTLP-file paths (each `run(pipeline, path)` in its own process)
    and print them against the Zipkin-file path of the same run (`zipkin`, its result)."""
    import multiprocessing as mp

    out = {}
    for fmt in ("jaeger", "otlp"):
        # written by a child: the parent, which the timed children are spawned from, stays small
        maker = mp.get_context("spawn").Process(target=make_format_file, args=(zipkin_path, fmt))
        maker.start()
        maker.join()
        path = make_format_file(zipkin_path, fmt)  # made above: only its path
        got = run(pipeline, path)
        if got["traces"] != zipkin["traces"] or got["top"] != zipkin["top"]:
            raise SystemExit(f"{fmt} file: another answer than the Zipkin file "
                             f"({got['traces']} traces, top {got['top']})")
        out[fmt] = {"file_mb": round(path.stat().st_size / 1e6, 1),
                    **{k: round(got[k], 3) for k in ("wall_s", "cpu_s")},
                    "ratio_vs_zipkin_file": {k: round(got[k] / zipkin[k], 2)
                                             for k in ("wall_s", "cpu_s")},
                    "peak_mb": round(got["peak"] / 1e6)}
        print(f"[{fmt} file] {path.stat().st_size / 1e6:.0f} MB: cpu {got['cpu_s']:.2f} s = "
              f"{got['cpu_s'] / zipkin['cpu_s']:.2f}x the Zipkin file's {zipkin['cpu_s']:.2f} s, "
              f"wall {got['wall_s']:.2f} s = {got['wall_s'] / zipkin['wall_s']:.2f}x "
              f"(target ≤ {target}x); same traces and top hops; peak "
              f"{got['peak'] / 1e6:.0f} MB")
    return out
