"""logcorr against ripgrep on generated logs of mixed formats (6 services, 30 lines a trace:
structlog JSON, python-json-logger, Spring Boot text, logfmt, nginx with $request_id, Datadog
text with decimal ids), and the issue #20 figures: recall on 16 real-world formats and each
timing before (`--baseline-src`, a checkout of an older logcorr) and after, in the same run.

Whole process against whole process, page-cached: `rg -F TRACE_ID` over the files (the
baseline), `logcorr grep` without an index, `logcorr index` (build), `logcorr grep` with the
index (the plain `logcorr grep TRACE_ID PATH` form, which skips click; the same lookup through
click, with an option, is measured beside it). Peak resident memory counts anonymous pages only
(not the file pages a map touches). Ends with the issue's targets, met or not.

    .venv/bin/python bench/bench_logcorr.py              # ~1 GB, then ~100 MB
    .venv/bin/python bench/bench_logcorr.py --sizes 0.1  # quick
    git archive 4bc942c logcorr | tar -x -C /tmp/before  # the code before issue #20
    .venv/bin/python bench/bench_logcorr.py --sizes 0.3 --baseline-src /tmp/before --issue20
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
    files = {s: open(folder / FILES[s], "w", buffering=1 << 20)  # noqa: SIM115
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
                        lines[service].append((us, _line(
                            service, f"{ts}.{frac:06d}", level, event, tid, span, i, rnd)))
            for service, found in lines.items():
                found.sort()
                files[service].write("".join(line for _, line in found))
            progress.advance(task, min(chunk, n_traces - first))
    for f in files.values():
        f.close()
    ids_file.write_text("\n".join(picked))
    marker.touch()
    return picked


# one format a service: JSON (structlog, python-json-logger) and text (Spring Boot 3.2,
# logfmt, nginx combined + $request_id, Datadog's text pattern with decimal ids)
FILES = {"gateway": "gateway.jsonl", "order": "order.json.log", "customer": "customer.log",
         "product": "product.logfmt.log", "payment": "access.log", "notification": "dd.log"}
JSON_FILES = ("gateway.jsonl", "order.json.log")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _line(service: str, ts: str, level: str, event: str, tid: str, span: str, i: int,
          rnd: random.Random) -> str:
    """One line of a service's format (about the same size in every format)."""
    cid = rnd.randrange(10_000)
    if service == "gateway":
        return (f'{{"timestamp": "{ts}Z", "level": "{level}", "service": "{service}", '
                f'"event": "{event}", "trace_id": "{tid}", "span_id": "{span}", "http.route": '
                f'"/api/v1/orders", "order_id": {i}, "customer_id": {cid}, "duration_ms": '
                f'{rnd.random() * 50:.3f}, "logger": "services.{service}.app", "host": '
                f'"{service}-7d9f8c6b5-x2x4k"}}\n')
    if service == "order":
        return (f'{{"asctime": "{ts[:10]} {ts[11:23].replace(".", ",")}", "levelname": '
                f'"{level.upper()}", "name": "services.order.app", "message": "{event}", '
                f'"otelTraceID": "{tid}", "otelSpanID": "{span}", "otelServiceName": "order", '
                f'"otelTraceSampled": true, "order_id": {i}, "customer_id": {cid}, '
                f'"host": "order-7d9f8c6b5-x2x4k"}}\n')
    if service == "customer":
        return (f"{ts[:23]}Z {level.upper():>5} 1 --- [customer] [nio-8080-exec-{i % 200}] "
                f"[{tid}-{span}] c.e.customer.CustomerController : {event} for order {i}, "
                f"customer {cid}, route /api/v1/customers, host customer-7d9f8c6b5-x2x4k\n")
    if service == "product":
        return (f'ts={ts}Z level={level} service=product traceID={tid} spanID={span} '
                f'msg="{event}" order_id={i} customer_id={cid} route=/api/v1/products '
                f'duration_ms={rnd.random() * 50:.3f} host=product-7d9f8c6b5-x2x4k\n')
    if service == "payment":
        clf = f"{ts[8:10]}/{_MONTHS[int(ts[5:7]) - 1]}/{ts[:4]}:{ts[11:19]} +0000"
        status = 500 if level == "error" else 200
        return (f'10.0.{i % 250}.{cid % 250} - - [{clf}] "POST /api/v1/payments/{i} HTTP/1.1" '
                f'{status} {rnd.randrange(100, 9999)} "-" "python-httpx/0.28.1 ({event})" '
                f"{tid}\n")
    return (f"{ts[:10]} {ts[11:23].replace('.', ',')} {level.upper()} [notification.app] "
            f"[app.py:42] [dd.service=notification dd.env=prod dd.version=1.0 "
            f"dd.trace_id={int(tid[16:], 16)} dd.span_id={int(span, 16)}] - {event} for "
            f"order {i}, customer {cid}\n")


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and the children it waited for, exit code).

    Output goes to a pipe that is drained (ripgrep stops at the first match on /dev/null).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            cwd="/")
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
    folder = OUT / f"logcorr-mixed-{size_gb:g}gb"
    ids = generate(folder, n_traces)[:n_ids]
    files = sorted(str(folder / name) for name in FILES.values())
    size = sum(os.path.getsize(f) for f in files)
    lines = n_traces * len(SERVICES) * LINES_PER_SERVICE
    console.print(f"[bold]{folder.name}[/]: {size / 1e9:.2f} GB, {lines / 1e6:.1f}M lines, "
                  f"{n_traces} traces, {len(files)} files; {len(ids)} trace ids, "
                  f"median of {repeat} runs each")
    logcorr = str(BIN / "logcorr")
    rg = str(BIN / "rg") if (BIN / "rg").exists() else shutil.which("rg")
    index = folder / ".logcorr.sqlite3"
    rows: dict[str, list] = {k: [] for k in ("python", "cli", "rg", "rg_all", "rg_read",
                                             "scan", "indexed", "indexed_click")}
    for tid in ids:
        rows["python"].append(measure([sys.executable, "-c", "pass"], repeat))
        rows["cli"].append(measure([logcorr, "--help"], repeat))
        rows["rg"].append(measure([rg, "-F", tid, *files], repeat))
        rows["rg_all"].append(measure(rg_all(rg, tid, files), repeat))
        rows["rg_read"].append(measure(rg_all(rg, tid, files, read=True), repeat))
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


def rg_all(rg: str, tid: str, files: list[str], read: bool = False) -> list[str]:
    """ripgrep as `logcorr grep` runs it: the literals it searches (the id's hex tail and
    decimal) with its options; `read`: files read into a buffer, never memory-mapped."""
    from logcorr.ids import parse_query, rg_literals
    from logcorr.ripgrep import SEARCH

    options = [*SEARCH, "--no-mmap"] if read else list(SEARCH)
    literals = [a for lit in rg_literals(parse_query(tid)) for a in ("-e", lit)]
    return [rg, *options, *literals, "--", *files]


def _env(src: str | None) -> dict:
    """The environment of a logcorr run: the baseline's source first on the path, or none."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if src:
        env["PYTHONPATH"] = src
    return env


def recall(baseline: str | None, console: Console) -> None:
    """Issue #20's recall figure: planted lines of one trace in 16 real-world formats found by
    `rg -F -i` with every id form and by logcorr (before and after), queried by the 32-hex id,
    its decimal and its UUID form."""
    import json
    import tempfile

    sys.path.insert(0, str(ROOT.parent))
    from tests.logcorr.realworld import DEC, RG_FORMS, TID, UUID, build

    world = build(Path(tempfile.mkdtemp()) / "realworld")
    planted = {(p.file, p.line) for p in world.planted}
    rg = str(BIN / "rg") if (BIN / "rg").exists() else shutil.which("rg")
    cmd = [rg, "--no-config", "-F", "-i", "-n", "--no-heading", "--with-filename", "--null"]
    for form in RG_FORMS:
        cmd += ["-e", form]
    out = subprocess.run([*cmd, "--", str(world.folder)], capture_output=True).stdout
    by_rg = {(n.decode(), int(r.split(b":", 1)[0]))
             for n, _, r in (line.partition(b"\0") for line in out.splitlines())}
    console.print(f"[bold]recall[/]: {len(world.files)} formats, {len(planted)} planted lines; "
                  f"rg -F -i with the 5 forms finds {len(by_rg & planted)}")
    for name, src in (("before", baseline), ("after", None)):
        if name == "before" and not baseline:
            continue
        cells = []
        for label, query in (("32 hex", TID), ("decimal", DEC), ("UUID", UUID)):
            res = subprocess.run([str(BIN / "logcorr"), "grep", query, str(world.folder),
                                  "--format", "json"], capture_output=True, text=True,
                                 env=_env(src), cwd="/")
            rows = [json.loads(line) for line in res.stdout.splitlines()]
            found = {(r["file"], r["line"]) for r in rows} & planted
            timed_rows = sum(1 for r in rows if r["timestamp"])
            cells.append(f"{label}: {len(found)}/{len(planted)} ({timed_rows} with a time, "
                         f"exit {res.returncode})")
        console.print(f"  {name:6} " + "; ".join(cells))


def issue20(size_gb: float, repeat: int, n_ids: int, baseline: str | None,
            console: Console) -> None:
    """Issue #20's timings, before (baseline source) and after, on the same mixed files."""
    n_traces = max(100, int(size_gb * 1e9 / BYTES_PER_TRACE))
    folder = OUT / f"logcorr-mixed-{size_gb:g}gb"
    ids = generate(folder, n_traces)[:n_ids]
    files = sorted(str(folder / name) for name in FILES.values())
    size = sum(os.path.getsize(f) for f in files)
    json_size = sum(os.path.getsize(folder / f) for f in JSON_FILES)
    console.print(f"[bold]{folder.name}[/]: {size / 1e9:.2f} GB in {len(files)} files "
                  f"({json_size / 1e9:.2f} GB JSON, {(size - json_size) / 1e9:.2f} GB text), "
                  f"{len(ids)} trace ids, median of {repeat} runs; load "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    logcorr = str(BIN / "logcorr")
    rg = str(BIN / "rg") if (BIN / "rg").exists() else shutil.which("rg")
    index = folder / ".logcorr.sqlite3"
    med = statistics.median

    def lookups(cmd_of, env=None) -> tuple[float, float]:
        """(median wall s, median CPU s) over the ids, each the median of `repeat` runs."""
        runs = [[timed(cmd_of(t), env) for _ in range(repeat)] for t in ids]
        return (med(med(r[0] for r in rs) for rs in runs),
                med(med(r[1] for r in rs) for rs in runs))

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0] * 1000:.0f} ms (CPU {pair[1] * 1000:.0f} ms)"

    rg_one = lookups(lambda t: [rg, "-F", t, *files])
    rg_forms = lookups(lambda t: rg_all(rg, t, files))
    console.print(f"  rg -F TRACE_ID: {ms(rg_one)}; rg as grep runs it, hex+decimal+UUID "
                  f"forms in any case (the named baseline): {ms(rg_forms)}")
    rg_scan = timed([rg, "-c", "-F", "zzzz-not-there", *files])
    console.print(f"  rg reading all the bytes (no match): {rg_scan[0]:.2f} s "
                  f"= {size / 1e6 / rg_scan[0]:.0f} MB/s")
    for name, src in (("before", baseline), ("after", None)):
        if name == "before" and not baseline:
            continue
        env = _env(src)
        for f in (index, folder / "json.sqlite3", folder / "text.sqlite3"):
            f.unlink(missing_ok=True)
        timed([logcorr, "grep", ids[0], str(folder)], env)  # warm
        scan = lookups(lambda t: [logcorr, "grep", t, str(folder)], env)  # noqa: B023
        found = [len(subprocess.run([logcorr, "grep", t, str(folder)], env=env, cwd="/",
                                    capture_output=True).stdout.splitlines()) for t in ids]
        builds = {}
        for kind, subset in (("json", [str(folder / f) for f in JSON_FILES]),
                             ("text", [f for f in files if Path(f).name not in JSON_FILES])):
            wall, cpu, _ = timed([logcorr, "index", *subset, "--index",
                                  str(folder / f"{kind}.sqlite3")], env)
            mb = sum(os.path.getsize(f) for f in subset) / 1e6
            builds[kind] = f"{mb / wall:.1f} MB/s ({mb / cpu:.1f} MB per CPU s)"
        build = timed([logcorr, "index", str(folder)], env)
        indexed = lookups(lambda t: [logcorr, "grep", t, str(folder)], env)  # noqa: B023
        traces_cmd = [logcorr, "traces", str(folder), "--format", "json", "--limit", "1"]
        t1 = timed(traces_cmd, env)
        t2 = timed(traces_cmd, env)
        console.print(
            f"  [bold]{name}[/]: unindexed grep {ms(scan)} = {scan[0] / rg_forms[0]:.2f}× "
            f"the named baseline by wall, {scan[1] / rg_forms[1]:.2f}× by CPU "
            f"({scan[0] / rg_one[0]:.2f}× rg -F TRACE_ID), lines found {found}; "
            f"index build {build[0]:.1f} s = {size / 1e6 / build[0]:.1f} MB/s "
            f"({size / 1e6 / build[1]:.1f} MB per CPU s; JSON alone {builds['json']}, text "
            f"alone {builds['text']}), index {index.stat().st_size / 1e6:.0f} MB; indexed grep "
            f"{ms(indexed)}; traces {t1[0]:.1f} s (CPU {t1[1]:.1f} s) first run, {t2[0]:.1f} s "
            f"(CPU {t2[1]:.1f} s) second")
    for f in (folder / "json.sqlite3", folder / "text.sqlite3"):
        f.unlink(missing_ok=True)


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
    parser.add_argument("--baseline-src", help="a folder holding an older logcorr package, "
                        "run as the 'before' of the --issue20 figures")
    parser.add_argument("--issue20", action="store_true",
                        help="only issue #20's figures: recall, then timings before and after")
    args = parser.parse_args()
    console = Console(width=150)
    # An installed package has byte code; PYTHONDONTWRITEBYTECODE=1 (set here) would otherwise
    # make every timed start compile logcorr from source.
    for package in ("logcorr", "traceaudit"):  # logcorr.ids imports traceaudit.ids
        compileall.compile_dir(ROOT.parent / package, quiet=1)
    if args.baseline_src:
        compileall.compile_dir(Path(args.baseline_src) / "logcorr", quiet=1)
    if args.issue20:
        recall(args.baseline_src, console)
        for s in args.sizes:
            issue20(s, args.repeat, args.ids, args.baseline_src, console)
        return
    results = {s: bench(s, args.repeat, args.ids, console) for s in args.sizes}
    table = Table(title="logcorr vs ripgrep (whole process, page-cached; medians)")
    table.add_column("command")
    for s in args.sizes:
        for name in ("wall", "× rg", "CPU", "× rg", "peak anon RSS"):
            table.add_column(f"{s:g} GB {name}" if name == "wall" else name, justify="right")
    labels = {"python": "python -c pass (interpreter floor)",
              "cli": "logcorr --help (interpreter + click floor)",
              "rg": "rg -F TRACE_ID (baseline)",
              "rg_all": "rg as grep runs it: hex tail and decimal, any case",
              "rg_read": "the same, files read, not memory-mapped (--no-mmap)",
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
            f"(issue #20's target ≤ 2×: {'met' if scan <= 2 * rg else 'NOT met'})")
    if len(args.sizes) > 1:
        big, small = max(args.sizes), min(args.sizes)
        for key in ("scan", "indexed", "index"):
            grow_t = results[big][key][1] / results[small][key][1]
            grow_m = results[big][key][2] / max(results[small][key][2], 1)
            console.print(f"{labels[key]}: ×{big / small:g} logs → CPU time ×{grow_t:.1f}, "
                          f"memory ×{grow_m:.2f}")


if __name__ == "__main__":
    main()
