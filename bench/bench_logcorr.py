"""logcorr against ripgrep on generated structlog JSON logs (6 services, 30 lines a trace).

Whole process against whole process, page-cached: `rg -F TRACE_ID` over the files (the
baseline), `logcorr grep` without an index, `logcorr index` (build), `logcorr grep` with the
index. Peak resident memory counts anonymous pages only (not the file pages a map touches).

    .venv/bin/python bench/bench_logcorr.py              # ~1 GB, then ~100 MB
    .venv/bin/python bench/bench_logcorr.py --sizes 0.1  # quick
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
BIN = Path(sys.executable).parent
SERVICES = ("gateway", "order", "customer", "product", "payment", "notification")
LINES_PER_SERVICE = 5  # 30 lines a trace
BYTES_PER_TRACE = 10_000  # ≈ 1 GB per 100k traces
T0 = 1_795_600_800_000_000
EVENTS = ("request received", "validated input", "calling downstream", "downstream answered",
          "response sent")


def generate(folder: Path, n_traces: int, seed: int = 42) -> list[str]:
    """Write the corpus (unless already there) and return some of its trace ids."""
    marker = folder / ".complete"
    ids_file = folder / ".trace_ids"
    if marker.exists():
        return ids_file.read_text().split()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rnd = random.Random(seed)
    files = {s: open(folder / f"{s}.jsonl", "w", buffering=1 << 20)  # noqa: SIM115
             for s in SERVICES}
    picked: list[str] = []
    chunk = 2_000
    with Progress(transient=True) as progress:
        task = progress.add_task(f"generating {folder.name}", total=n_traces)
        for first in range(0, n_traces, chunk):
            lines: dict[str, list[tuple[int, str]]] = {s: [] for s in SERVICES}
            for i in range(first, min(first + chunk, n_traces)):
                tid = f"{rnd.getrandbits(128):032x}"
                if i % (n_traces // 10 or 1) == 5:
                    picked.append(tid)
                start = T0 + i * 10_000
                for k, service in enumerate(SERVICES):
                    span = f"{rnd.getrandbits(64):016x}"
                    for j, event in enumerate(EVENTS):
                        us = start + k * 20_000 + j * 3_000 + rnd.randrange(1_000)
                        sec, frac = divmod(us, 1_000_000)
                        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
                        level = "error" if j == 3 and i % 50 == 0 else "info"
                        lines[service].append((us, (
                            f'{{"timestamp": "{ts}.{frac:06d}Z", "level": "{level}", '
                            f'"service": "{service}", "event": "{event}", "trace_id": "{tid}", '
                            f'"span_id": "{span}", "http.route": "/api/v1/orders", '
                            f'"order_id": {i}, "customer_id": {rnd.randrange(10_000)}, '
                            f'"duration_ms": {rnd.random() * 50:.3f}, "logger": '
                            f'"services.{service}.app", "host": "{service}-7d9f8c6b5-x2x4k"}}\n'
                        )))
            for service, found in lines.items():
                found.sort()
                files[service].write("".join(line for _, line in found))
            progress.advance(task, min(chunk, n_traces - first))
    for f in files.values():
        f.close()
    ids_file.write_text("\n".join(picked))
    marker.touch()
    return picked


def run(cmd: list[str]) -> tuple[float, int, int, int]:
    """(seconds, peak anonymous RSS of the process tree in KiB, exit code, output bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0
    out = bytearray()
    os.set_blocking(proc.stdout.fileno(), False)
    while True:
        chunk = proc.stdout.read()
        if chunk:
            out += chunk
        peak = max(peak, _anon_kib(proc.pid))
        if proc.poll() is not None:
            rest = proc.stdout.read()
            out += rest or b""
            break
        time.sleep(0.002)
    return time.perf_counter() - start, peak, proc.returncode, len(out)


def _anon_kib(pid: int) -> int:
    """RssAnon of a process and its children (the file pages of a memory map do not count)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure(cmd: list[str], repeat: int) -> tuple[float, int, int, int]:
    run(cmd)  # warm: page cache, imports
    results = [run(cmd) for _ in range(repeat)]
    return (statistics.median(r[0] for r in results), max(r[1] for r in results),
            results[0][2], results[0][3])


def bench(size_gb: float, repeat: int, console: Console) -> dict[str, tuple]:
    n_traces = max(100, int(size_gb * 1e9 / BYTES_PER_TRACE))
    folder = OUT / f"logcorr-{size_gb:g}gb"
    ids = generate(folder, n_traces)
    files = sorted(str(p) for p in folder.glob("*.jsonl"))
    size = sum(os.path.getsize(f) for f in files)
    lines = n_traces * len(SERVICES) * LINES_PER_SERVICE
    console.print(f"[bold]{folder.name}[/]: {size / 1e9:.2f} GB, {lines / 1e6:.1f}M lines, "
                  f"{n_traces} traces, {len(files)} files; {len(ids)} trace ids, "
                  f"median of {repeat} runs each")
    logcorr = str(BIN / "logcorr")
    rg = str(BIN / "rg") if (BIN / "rg").exists() else shutil.which("rg")
    index = folder / ".logcorr.sqlite3"
    rows: dict[str, list] = {k: [] for k in ("python", "rg", "scan", "indexed")}
    for tid in ids:
        rows["python"].append(measure([sys.executable, "-c", "pass"], repeat))
        rows["rg"].append(measure([rg, "-F", tid, *files], repeat))
        index.unlink(missing_ok=True)
        rows["scan"].append(measure([logcorr, "grep", tid, str(folder), "--no-index"], repeat))
    index.unlink(missing_ok=True)
    build = run([logcorr, "index", str(folder)])
    for tid in ids:
        rows["indexed"].append(measure([logcorr, "grep", tid, str(folder)], repeat))
    for name, found in rows.items():
        assert all(r[2] == 0 for r in found) or name == "python", f"{name} found nothing"
    out = {name: (statistics.median(r[0] for r in found), max(r[1] for r in found))
           for name, found in rows.items()}
    out["index"] = (build[0], build[1])
    out["_size"] = (size, lines, os.path.getsize(index))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 0.1],
                        help="corpus sizes in GB (default: 1 then 0.1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    console = Console()
    results = {s: bench(s, args.repeat, console) for s in args.sizes}
    table = Table(title="logcorr vs ripgrep (whole process, page-cached)")
    table.add_column("command")
    for s in args.sizes:
        table.add_column(f"{s:g} GB time", justify="right")
        table.add_column("× rg", justify="right")
        table.add_column("peak anon RSS", justify="right")
    labels = {"python": "python -c pass (floor)", "rg": "rg -F TRACE_ID (baseline)",
              "scan": "logcorr grep, no index", "index": "logcorr index (build)",
              "indexed": "logcorr grep, indexed"}
    for key, label in labels.items():
        cells = []
        for s in args.sizes:
            t, mem = results[s][key]
            ratio = t / results[s]["rg"][0]
            cells += [f"{t * 1000:.0f} ms", f"{ratio:.2f}", f"{mem / 1024:.1f} MiB"]
        table.add_row(label, *cells)
    console.print(table)
    for s in args.sizes:
        size, lines, index_bytes = results[s]["_size"]
        console.print(f"{s:g} GB: index file {index_bytes / 1e6:.0f} MB "
                      f"({index_bytes / size * 100:.1f}% of the logs)")
    if len(args.sizes) > 1:
        big, small = max(args.sizes), min(args.sizes)
        for key in ("scan", "indexed", "index"):
            grow_t = results[big][key][0] / results[small][key][0]
            grow_m = results[big][key][1] / max(results[small][key][1], 1)
            console.print(f"{labels[key]}: ×{big / small:g} logs → time ×{grow_t:.1f}, "
                          f"memory ×{grow_m:.2f}")


if __name__ == "__main__":
    main()
