"""Benchmark of `traceaudit diff` on the shop's own faults: is the culprit named first?

    .venv/bin/python bench/bench_faults.py                       # run the shop, then score
    .venv/bin/python bench/bench_faults.py --saved var/bench-faults  # score saved windows again

A stack of its own (port offset `--offset`, databases `f<offset>_*`) runs the load driver for a
no-fault window of `--orders` orders, then for a window with one fault flag of `deploy/flags.json`
on (each flag × `--repeats`), then `--aa` pairs of no-fault windows (A/A). The windows are saved
as Zipkin JSON under `--work`. Each pair is scored three ways, in the same run:

- `traceaudit diff` (this tree): the culprit must be the faulty hop, first; and its kind right
  (latency, errors, unreachable); an A/A pair must report no significant change;
- the **named baseline**: the `diff` of the previous release (hops ranked by |Δp95|, each hop
  "slower"/"faster" by two uncorrected 95% bootstrap CIs), reproduced in `_previous_diff`;
- the trace-based root-cause methods of RCAEval (TraceRCA, MicroRank; `rcaeval` from PyPI with
  `--no-deps`, in a venv of its own, `--peer-venv`) on the same windows: top-1 service.

Then, on the saved windows: the smallest window (orders a side) at which the culprit is still
first in every repeat of a flag, and the smallest share of faulty orders (fault-window traces
mixed into the second half of the no-fault window) at which it still is.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import click
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from traceaudit.diff import compare  # noqa: E402
from traceaudit.hops import OrderAnalysis, analyse  # noqa: E402
from traceaudit.spans import spans_frame  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 160)
# flag: (variant, faulty hop, kind of change)
FAULTS = {
    "customerSlowdown": ("200ms", "customer", "latency"),
    "paymentSlowdown": ("500ms", "payment", "latency"),
    "productHighCpu": ("on", "product", "latency"),
    "paymentFailure": ("25%", "payment", "errors"),
    "paymentUnreachable": ("on", "payment", "unreachable"),
    "productCatalogFailure": ("on", "product", "errors"),
}
SIZES = (10, 20, 40, 80, 160)
SHARES = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
PROGRAMS = ["collector", "mailsink", "customer", "product", "order", "payment", "notification",
            "gateway"]
PEER_PACKAGES = ["numpy", "pandas", "tqdm", "python-dateutil"]  # what the trace methods import


# -- running the shop ------------------------------------------------------------------------

def _stack(offset: int, var_dir: Path):
    from services.stack import Stack, fresh_vhost, reset_databases

    var_dir.mkdir(parents=True, exist_ok=True)
    flags = shutil.copyfile(REPO / "deploy" / "flags.json", var_dir / "flags.json")
    env = {"SHOP_PORT_OFFSET": str(offset), "SHOP_VAR_DIR": str(var_dir),
           "SHOP_DB_PREFIX": f"f{offset}_", "BROKER_URL": fresh_vhost(f"f{offset}"),
           "SHOP_FLAGS_FILE": str(flags), "OTEL_BSP_SCHEDULE_DELAY": "1000"}
    stack = Stack(env, programs=PROGRAMS)
    reset_databases(stack.settings)
    return stack, Path(flags)


def _restock(stack) -> None:
    """Fill every product's stock, so the windows never run out (the catalogue holds ~500)."""
    import psycopg

    s = stack.settings
    with psycopg.connect(host=s.database_host, port=s.database_port, user=s.database_user,
                         password=s.database_password or None,
                         dbname=f"{s.shop_db_prefix}product", autocommit=True) as conn:
        conn.execute("UPDATE product SET available_quantity = 1000000")


def _window(stack, orders: int, seed: int) -> list:
    """Drive `orders` orders; return the order traces of that time range from the collector."""
    from services.loadgen import run_load
    from traceaudit.window import Window
    from traceaudit.zipkin import ZipkinClient

    _restock(stack)
    start = datetime.now(UTC)
    result = asyncio.run(run_load(stack.gateway_url, orders=orders, users=6, seed=seed))
    end = datetime.now(UTC)
    if result.stopped:
        console.print(f"  [yellow]load {result.stopped}[/]")
    time.sleep(3.0)  # one export interval (1 s here) and the collector's write
    client = ZipkinClient(stack.collector_url)
    traces = [t for page in client.iter_pages(Window(start, end), service="gateway",
                                              span="post /api/v1/orders", limit=1000)
              for t in page]
    console.print(f"    {len(traces)} order traces, answers "
                  f"{dict(sorted((str(k), v) for k, v in result.orders.items()))}, "
                  f"{result.seconds:.0f} s")
    return traces


def collect(work: Path, offset: int, orders: int, repeats: int, aa: int,
            flags_run: list[str]) -> None:
    """Run the fault matrix and the A/A pairs on a stack of its own; save every window."""
    from services.common.faults import set_variant

    stack, flags = _stack(offset, work / "stack")
    console.print(f"starting the shop on offset {offset} …")
    stack.up()
    try:
        _window(stack, 40, seed=0)  # warm up (connections, JIT of the paths); not scored
        seed = 1
        plan = [(f"{flag}-{r + 1}", flag) for r in range(repeats) for flag in flags_run] + \
            [(f"aa-{i + 1}", None) for i in range(aa)]
        for name, flag in plan:
            console.print(f"[bold]{name}[/]")
            base = _window(stack, orders, seed)
            if flag:
                set_variant(flags, flag, FAULTS[flag][0])
                time.sleep(1.5)  # the services re-read the file within 0.5 s
            cur = _window(stack, orders, seed + 1)
            seed += 2
            if flag:
                set_variant(flags, flag, "off")
                time.sleep(12 if flag.startswith("payment") else 1.5)  # breaker reset (10 s)
                # drain what the fault left queued (productHighCpu's backlog answered 503s
                # well into the next window): a short unscored window
                _window(stack, 20, seed=0)
            run = work / "runs" / name
            run.mkdir(parents=True, exist_ok=True)
            (run / "baseline.json").write_text(json.dumps(base))
            (run / "current.json").write_text(json.dumps(cur))
            (run / "meta.json").write_text(json.dumps({"flag": flag}))
    finally:
        stack.down()


# -- scoring -----------------------------------------------------------------------------------

def _previous_diff(base: OrderAnalysis, cur: OrderAnalysis,
                   seed: int = 0) -> tuple[str, str, bool]:
    """The previous release's diff: hops ranked by |Δp95| (order total included), verdicts from
    two uncorrected 95% bootstrap CIs. Its first row, kind ("latency" if slower), and whether
    any row was flagged."""
    rng = np.random.default_rng(seed)

    def samples(a: OrderAnalysis) -> dict:
        out = {"(order total)": a.traces["duration_us"].to_numpy(float) / 1000}
        for hop, calls in a.calls.groupby("hop", sort=False):
            out[hop] = calls["client_us"].to_numpy(float) / 1000
        return out

    b, c = samples(base), samples(cur)
    rows = []
    for hop in list(dict.fromkeys([*c, *b])):
        x, y = b.get(hop, np.empty(0)), c.get(hop, np.empty(0))
        if len(x) < 2 or len(y) < 2:
            rows.append((hop, np.nan, "only in one window"))
            continue
        verdicts, d95 = [], 0.0
        for q in (0.5, 0.95):
            delta = np.quantile(y, q) - np.quantile(x, q)
            boot = (np.quantile(y[rng.integers(0, len(y), (1000, len(y)))], q, axis=1)
                    - np.quantile(x[rng.integers(0, len(x), (1000, len(x)))], q, axis=1))
            lo, hi = np.quantile(boot, [0.025, 0.975])
            verdicts.append("slower" if lo > 0 else "faster" if hi < 0 else "")
            d95 = delta
        verdict = next((v for v in verdicts if v), "no significant change")
        rows.append((hop, abs(d95), verdict))
    rows.sort(key=lambda r: -r[1] if np.isfinite(r[1]) else np.inf)
    top = rows[0]
    flagged = any(r[2] in ("slower", "faster") for r in rows)
    return top[0], ("latency" if top[2] == "slower" else top[2]), flagged


def _analyse(traces: list) -> OrderAnalysis:
    return analyse(spans_frame(traces, keep_tags=False))


def _start(trace: list) -> int:
    return min((s.get("timestamp") or 2**62) for s in trace)


def score_traceaudit(runs: dict, resamples: int) -> tuple[dict, dict]:
    """Per run: (culprit hop, kind, significant?) now and from the previous release."""
    now, before = {}, {}
    for name, (base, cur, _) in runs.items():
        a, b = _analyse(base), _analyse(cur)
        d = compare(a, b, baseline_traces=base, current_traces=cur, resamples=resamples)
        now[name] = (d.verdict.hop, d.verdict.kind, d.summary)
        hop, kind, flagged = _previous_diff(a, b)
        before[name] = (hop, kind, flagged)
    return now, before


def _first(base: list, cur: list, resamples: int) -> tuple:
    d = compare(_analyse(base), _analyse(cur), baseline_traces=base, current_traces=cur,
                resamples=resamples)
    return d.verdict.hop, d.verdict.kind


def smallest(runs: dict, resamples: int) -> tuple[dict, dict]:
    """Per flag: the smallest window and share of faulty orders with the culprit first (hop and
    kind) in every repeat (and at every larger size)."""
    by_flag = defaultdict(list)
    for base, cur, flag in runs.values():
        if flag:
            by_flag[flag].append((sorted(base, key=_start), sorted(cur, key=_start)))
    sizes, shares = {}, {}
    for flag, pairs in by_flag.items():
        _, hop, kind = FAULTS[flag]
        ok_sizes = [n for n in SIZES if all(
            _first(b[:n], c[:n], resamples) == (hop, kind) for b, c in pairs)]
        good = [n for n in SIZES if all(m in ok_sizes for m in SIZES if m >= n)]
        sizes[flag] = good[0] if good else None
        ok_shares = []
        for share in SHARES:
            right = True
            for i, (b, c) in enumerate(pairs):
                half = len(b) // 2
                rnd = random.Random(i)
                k = int(round(share * half))
                mixed = rnd.sample(b[half:], half - k) + rnd.sample(c, min(k, len(c)))
                right &= _first(b[:half], mixed, resamples) == (hop, kind)
            ok_shares.append(right)
        good = [s for j, s in enumerate(SHARES) if all(ok_shares[j:])]
        shares[flag] = good[0] if good else None
    return sizes, shares


# -- peers ---------------------------------------------------------------------------------

def _peer_venv(path: Path) -> Path | None:
    """The peers' venv (`rcaeval` --no-deps plus what its trace methods import), made once."""
    python = path / "bin" / "python"
    if python.exists():
        ok = subprocess.run([str(python), "-c", "import RCAEval, pandas, tqdm, dateutil"],
                            capture_output=True)
        if ok.returncode == 0:
            return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True,
                       capture_output=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--no-deps", "rcaeval==1.8.1"], check=True, capture_output=True)
        subprocess.run([*pip, *PEER_PACKAGES], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        console.print(f"peers skipped: could not install rcaeval into {path}: "
                      f"{(exc.stderr or b'').decode().strip().splitlines()[-1:]}")
        return None
    return python


def _rcaeval_csv(base: list, cur: list, path: Path) -> int:
    """Both windows as RCAEval's span table; returns the inject time (µs): the current
    window's first order starts then."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["traceID", "spanID", "parentSpanID", "serviceName", "operationName",
                    "methodName", "startTime", "duration"])
        for trace in [*base, *cur]:
            for s in trace:
                if not s.get("timestamp") or not s.get("duration"):
                    continue
                svc = (s.get("localEndpoint") or {}).get("serviceName", "?")
                w.writerow([s["traceId"], s["id"], s.get("parentId", ""), svc,
                            s.get("name", ""), s.get("name", ""), s["timestamp"],
                            s["duration"]])
    first = min(_start(t) for t in cur)
    last_base = max(max(s.get("timestamp", 0) + s.get("duration", 0) for s in t) for t in base)
    return max(first, last_base + 1)


def score_peers(runs: dict, venv: Path, work: Path) -> dict:
    python = _peer_venv(venv)
    if python is None:
        return {}
    todo = []
    for name, (base, cur, _) in runs.items():
        path = work / "peers" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        todo.append({"name": name, "spans": str(path),
                     "inject_time": _rcaeval_csv(base, cur, path)})
    runs_file = work / "peers" / "runs.json"
    runs_file.write_text(json.dumps(todo))
    done = subprocess.run([str(python), str(REPO / "bench" / "_rcaeval_peer.py"),
                           str(runs_file)], capture_output=True, text=True)
    out = defaultdict(dict)
    for line in done.stdout.splitlines():
        if not line.startswith('{"name"'):
            continue  # the methods print progress of their own
        doc = json.loads(line)
        top = doc.get("ranks", [None])[:1]
        service = top[0].split("_", 1)[0] if top and top[0] else None
        out[doc["method"]][doc["name"]] = (service, doc.get("error"))
    if done.returncode:
        console.print(f"[yellow]peer runner exited {done.returncode}: "
                      f"{done.stderr.strip().splitlines()[-1:]}[/]")
    return out


# -- report --------------------------------------------------------------------------------

def load_runs(work: Path, baseline_pairs: bool = False) -> dict:
    """The saved runs in the order they were made; with `baseline_pairs`, also an A/A pair
    ("bb-…") of each two consecutive no-fault windows of the fault runs (minutes apart)."""
    runs = {}
    dirs = sorted((work / "runs").iterdir(), key=lambda d: (d / "meta.json").stat().st_mtime)
    for run in dirs:
        meta = json.loads((run / "meta.json").read_text())
        runs[run.name] = (json.loads((run / "baseline.json").read_text()),
                          json.loads((run / "current.json").read_text()), meta["flag"])
    if baseline_pairs:
        faults = [name for name, r in runs.items() if r[2]]
        for a, b in zip(faults, faults[1:], strict=False):
            runs[f"bb-{a}"] = (runs[a][0], runs[b][0], None)
    return runs


def report(runs: dict, now: dict, before: dict, peers: dict, sizes: dict, shares: dict) -> None:
    faults = [n for n, r in runs.items() if r[2]]
    aas = [n for n, r in runs.items() if not r[2]]
    table = Table(title=f"{len(faults)} fault runs, {len(aas)} A/A runs")
    for col in ("run", "orders", "expected", "traceaudit diff", "previous diff",
                *[f"{m} top-1" for m in sorted(peers)]):
        table.add_column(col)
    for name in runs:
        base, cur, flag = runs[name]
        expected = f"{FAULTS[flag][1]} {FAULTS[flag][2]}" if flag else "no change"
        hop, kind, _ = now[name]
        prev = before[name]
        cells = [name, f"{len(base)}/{len(cur)}", expected,
                 f"{hop} {kind}" if hop else "no change",
                 (f"{prev[0]} {prev[1]}" if flag else ("flagged" if prev[2] else "no change"))]
        for method in sorted(peers):
            service, error = peers[method].get(name, (None, "not run"))
            cells.append(f"crash: {error[:40]}" if error else str(service))
        table.add_row(*cells)
    console.print(table)
    for name in runs:
        console.print(f"  {name}: {now[name][2]}", markup=False, highlight=False)

    bbs = [k for k in aas if k.startswith("bb-")]
    if bbs:
        aas = [k for k in aas if k not in bbs]
        console.print(f"A/A from consecutive no-fault windows of the fault runs: previous diff "
                      f"{sum(1 for k in bbs if before[k][2])}/{len(bbs)} → traceaudit diff "
                      f"{sum(1 for k in bbs if now[k][0] is not None)}/{len(bbs)} flagged")

    def right(pred) -> int:
        return sum(1 for n in faults if pred(n))

    n = len(faults)
    first_now = right(lambda k: now[k][0] == FAULTS[runs[k][2]][1])
    kind_now = right(lambda k: now[k][:2] == FAULTS[runs[k][2]][1:])
    first_before = right(lambda k: before[k][0] == FAULTS[runs[k][2]][1])
    kind_before = right(lambda k: before[k][:2] == FAULTS[runs[k][2]][1:])
    aa_now = sum(1 for k in aas if now[k][0] is not None)
    aa_before = sum(1 for k in aas if before[k][2])
    console.print(f"culprit first:          previous diff {first_before}/{n} → "
                  f"traceaudit diff {first_now}/{n}")
    console.print(f"right hop and kind:     previous diff {kind_before}/{n} → "
                  f"traceaudit diff {kind_now}/{n}")
    console.print(f"A/A with a significant change: previous diff {aa_before}/{len(aas)} → "
                  f"traceaudit diff {aa_now}/{len(aas)}")
    for method in sorted(peers):
        got = peers[method]
        hits = right(lambda k, g=got: g.get(k, (None,))[0] == FAULTS[runs[k][2]][1])
        crashes = sum(1 for k in faults if got.get(k, (None, None))[1])
        console.print(f"{method}: top-1 right service {hits}/{n} ({crashes} crashes)")
    if not peers:
        console.print("peers: not run")
    for flag in sizes:
        console.print(f"{flag}: culprit and kind right in every repeat from "
                      f"{sizes[flag] or '>' + str(SIZES[-1])} orders a side; from "
                      f"{'%.0f%%' % (shares[flag] * 100) if shares[flag] else 'no'} "
                      f"faulty orders (of {SHARES[-1]:.0%} tried)")


@click.command()
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              default=REPO / "var" / "bench-faults", show_default=True)
@click.option("--saved", is_flag=True, help="Score the windows saved in --work; no shop run.")
@click.option("--offset", default=30000, show_default=True,
              help="Port offset of the stack (far from the test stacks' 10000-16000).")
@click.option("--orders", default=250, show_default=True, help="Orders a window.")
@click.option("--repeats", default=3, show_default=True)
@click.option("--aa", default=10, show_default=True, help="A/A pairs of no-fault windows.")
@click.option("--resamples", default=1000, show_default=True)
@click.option("--peer-venv", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/tmp/rcaeval-venv"), show_default=True)
@click.option("--no-peers", is_flag=True)
@click.option("--no-small", is_flag=True, help="Skip the smallest-window/share search.")
@click.option("--flag", "flags_run", multiple=True, type=click.Choice(list(FAULTS)),
              help="Only these flags (repeatable; default all).")
@click.option("--baseline-pairs", is_flag=True, help="Also score each two consecutive no-fault "
              "windows of the fault runs as an A/A pair (bb-…).")
def main(work, saved, offset, orders, repeats, aa, resamples, peer_venv, no_peers, no_small,
         flags_run, baseline_pairs):
    if not saved:
        if work.exists():
            shutil.rmtree(work / "runs", ignore_errors=True)
        collect(work, offset, orders, repeats, aa, list(flags_run or FAULTS))
    runs = load_runs(work, baseline_pairs)
    started = time.perf_counter()
    now, before = score_traceaudit(runs, resamples)
    console.print(f"scored {len(runs)} runs in {time.perf_counter() - started:.1f} s")
    peers = {} if no_peers else score_peers(runs, peer_venv, work)
    sizes, shares = ({}, {}) if no_small else smallest(runs, min(resamples, 500))
    report(runs, now, before, peers, sizes, shares)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
