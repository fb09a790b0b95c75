"""logcorr against ripgrep on generated structlog JSON logs (6 services, 30 lines a trace).

Whole process against whole process, page-cached: `rg -F TRACE_ID` over the files (the
baseline), `logcorr grep` without an index, `logcorr index` (build), `logcorr grep` with the
index (the plain `logcorr grep TRACE_ID PATH` form, which skips click; the same lookup through
click, with an option, is measured beside it). Peak resident memory counts anonymous pages only
(not the file pages a map touches). Ends with the issue's targets, met or not.

    .venv/bin/python bench/bench_logcorr.py              # ~1 GB, then ~100 MB
    .venv/bin/python bench/bench_logcorr.py --sizes 0.1  # quick
"""

from __future__ import annotations

import argparse
import compileall
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


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and the children it waited for, exit code).

    Output goes to a pipe that is drained (ripgrep stops at the first match on /dev/null).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, proc.returncode


def peak_memory(cmd: list[str]) -> int:
    """Peak anonymous resident memory (KiB) of the process and its children, polled."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.set_blocking(proc.stdout.fileno(), False)
    peak = 0
    while proc.poll() is None:
        proc.stdout.read()
        peak = max(peak, _anon_kib(proc.pid))
        time.sleep(0.001)
    proc.stdout.read()
    return peak


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


def measure(cmd: list[str], repeat: int) -> tuple[float, float, int, int]:
    """(median wall s, median CPU s, peak anon KiB, exit code) over `repeat` warm runs."""
    timed(cmd)  # warm: page cache, imports
    runs = [timed(cmd) for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            peak_memory(cmd), runs[0][2])


def bench(size_gb: float, repeat: int, n_ids: int, console: Console) -> dict[str, tuple]:
    n_traces = max(100, int(size_gb * 1e9 / BYTES_PER_TRACE))
    folder = OUT / f"logcorr-{size_gb:g}gb"
    ids = generate(folder, n_traces)[:n_ids]
    files = sorted(str(p) for p in folder.glob("*.jsonl"))
    size = sum(os.path.getsize(f) for f in files)
    lines = n_traces * len(SERVICES) * LINES_PER_SERVICE
    console.print(f"[bold]{folder.name}[/]: {size / 1e9:.2f} GB, {lines / 1e6:.1f}M lines, "
                  f"{n_traces} traces, {len(files)} files; {len(ids)} trace ids, "
                  f"median of {repeat} runs each")
    logcorr = str(BIN / "logcorr")
    rg = str(BIN / "rg") if (BIN / "rg").exists() else shutil.which("rg")
    index = folder / ".logcorr.sqlite3"
    rows: dict[str, list] = {k: [] for k in ("python", "cli", "rg", "scan", "indexed",
                                             "indexed_click")}
    for tid in ids:
        rows["python"].append(measure([sys.executable, "-c", "pass"], repeat))
        rows["cli"].append(measure([logcorr, "--help"], repeat))
        rows["rg"].append(measure([rg, "-F", tid, *files], repeat))
        index.unlink(missing_ok=True)  # no index: the plain command scans the files
        rows["scan"].append(measure([logcorr, "grep", tid, str(folder)], repeat))
    index.unlink(missing_ok=True)
    build_wall, build_cpu, _ = timed([logcorr, "index", str(folder)])
    index.unlink(missing_ok=True)
    build_mem = peak_memory([logcorr, "index", str(folder)])
    for tid in ids:
        rows["indexed"].append(measure([logcorr, "grep", tid, str(folder)], repeat))
        rows["indexed_click"].append(
            measure([logcorr, "grep", tid, str(folder), "--format", "text"], repeat))
    for name, found in rows.items():
        assert all(r[3] == 0 for r in found), f"{name} failed or found nothing"
    out = {name: (statistics.median(r[0] for r in found), statistics.median(r[1] for r in found),
                  max(r[2] for r in found))
           for name, found in rows.items()}
    out["index"] = (build_wall, build_cpu, build_mem)
    out["api"] = in_process(ids, folder)
    out["_size"] = (size, lines, os.path.getsize(index))
    return out


def in_process(ids: list[str], folder: Path) -> tuple[float, float, int]:
    """The indexed lookup itself, through the Python API, in a warm interpreter."""
    code = (
        "import sys, time, statistics\n"
        "from logcorr.grep import grep\n"
        "from logcorr.render import text_lines\n"
        "walls, cpus = [], []\n"
        "for tid in sys.argv[2:]:\n"
        "    for _ in range(3):\n"
        "        w, c = time.perf_counter(), time.process_time()\n"
        "        list(text_lines(grep(tid, [sys.argv[1]]).timeline))\n"
        "        walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)\n"
        "print(statistics.median(walls), statistics.median(cpus))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(folder), *ids], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 0.1],
                        help="corpus sizes in GB (default: 1 then 0.1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--ids", type=int, default=5, help="trace ids to look up per size")
    args = parser.parse_args()
    console = Console(width=150)
    # An installed package has byte code; PYTHONDONTWRITEBYTECODE=1 (set here) would otherwise
    # make every timed start compile logcorr from source.
    compileall.compile_dir(ROOT.parent / "logcorr", quiet=1)
    results = {s: bench(s, args.repeat, args.ids, console) for s in args.sizes}
    table = Table(title="logcorr vs ripgrep (whole process, page-cached; medians)")
    table.add_column("command")
    for s in args.sizes:
        for name in ("wall", "× rg", "CPU", "× rg", "peak anon RSS"):
            table.add_column(f"{s:g} GB {name}" if name == "wall" else name, justify="right")
    labels = {"python": "python -c pass (interpreter floor)",
              "cli": "logcorr --help (interpreter + click floor)",
              "rg": "rg -F TRACE_ID (baseline)",
              "scan": "logcorr grep TRACE_ID PATH, no index (scan)",
              "index": "logcorr index (build)",
              "indexed": "logcorr grep TRACE_ID PATH, indexed (no click)",
              "indexed_click": "logcorr grep … --format text, indexed (through click)",
              "api": "logcorr.grep.grep(), indexed, in-process (no interpreter start)"}
    for key, label in labels.items():
        cells = []
        for s in args.sizes:
            wall, cpu, mem = results[s][key]
            rg_wall, rg_cpu, _ = results[s]["rg"]
            cells += [f"{wall * 1000:.0f} ms", f"{wall / rg_wall:.2f}", f"{cpu * 1000:.0f} ms",
                      f"{cpu / rg_cpu:.2f}", f"{mem / 1024:.1f} MiB" if mem else "–"]
        table.add_row(label, *cells)
    console.print(table)
    load = os.getloadavg()[0]
    console.print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times suffer when "
                  "it is high; CPU times much less)")
    for s in args.sizes:
        size, lines, index_bytes = results[s]["_size"]
        console.print(f"{s:g} GB: index file {index_bytes / 1e6:.0f} MB "
                      f"({index_bytes / size * 100:.1f}% of the logs)")
        scan, rg, indexed = (results[s][k][0] for k in ("scan", "rg", "indexed"))
        console.print(
            f"{s:g} GB targets: indexed grep median {indexed * 1000:.1f} ms (target < 50 ms: "
            f"{'met' if indexed < 0.05 else 'NOT met'}); unindexed grep {scan / rg:.1f}× rg "
            f"(target ≤ 3×: {'met' if scan <= 3 * rg else 'NOT met'})")
    if len(args.sizes) > 1:
        big, small = max(args.sizes), min(args.sizes)
        for key in ("scan", "indexed", "index"):
            grow_t = results[big][key][1] / results[small][key][1]
            grow_m = results[big][key][2] / max(results[small][key][2], 1)
            console.print(f"{labels[key]}: ×{big / small:g} logs → CPU time ×{grow_t:.1f}, "
                          f"memory ×{grow_m:.2f}")


if __name__ == "__main__":
    main()
