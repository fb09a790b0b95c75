"""`traceaudit` command line: a thin layer over the Python API.

Other commands join the group with `main.add_command(...)`. Only click and the standard library
load at import: pandas, plotly, rich and requests load inside the commands, so `--help`,
`--version` and a mistyped option answer at once (tests/traceaudit/test_cli_startup.py).
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
import orjson

from traceaudit._version import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

FORMATS = ("table", "json", "csv", "markdown")
_WIDE = 200  # when not on a terminal (pipes, tests), do not squeeze the table to 80 columns


@cache
def _err() -> Console:
    """The stderr console (rich loads on first use)."""
    from rich.console import Console

    return Console(stderr=True)


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else _WIDE)


def _default_zipkin_url() -> str:
    from traceaudit.zipkin import default_url

    return default_url()


def _fail(message: str) -> NoReturn:
    click.echo(f"traceaudit: error: {message}", err=True)
    sys.exit(2)


@click.group()
@click.version_option(__version__, prog_name="traceaudit")
def main() -> None:
    """Which hop of an operation costs the most time, from Zipkin, Jaeger, Tempo or a file."""


def fetch_options(f):
    """Options shared by every command that reads traces."""
    for option in reversed([
        click.option("--zipkin", "zipkin_url", default=_default_zipkin_url,
                     show_default="$ZIPKIN_URL or http://127.0.0.1:9411",
                     help="Zipkin base URL (without /api/v2)."),
        click.option("--service", default="gateway", show_default=True,
                     help="Service of the operation's span."),
        click.option("--span", "span_name", default="post /api/v1/orders", show_default=True,
                     help="Name of the operation's span."),
        click.option("--since", default="1h", show_default=True,
                     help="Start of the window: 15m, 1h, 2d or an ISO time."),
        click.option("--until", default=None, help="End of the window (default now)."),
        click.option("--limit", default=1000, show_default=True, type=click.IntRange(1),
                     help="Traces per query (a window larger than that is walked page by page)."),
        click.option("--from-file", "from_file", type=click.Path(dir_okay=False),
                     help="Read a saved trace file (Zipkin, Jaeger or OTLP JSON, .gz too)."),
        *SOURCE_OPTIONS,
    ]):
        f = option(f)
    return f


def _stash(ctx: click.Context, param: click.Parameter, value):
    ctx.meta[f"traceaudit.{param.name}"] = value
    return value


# where traces come from, beside --zipkin (kept): read through `_open_source()`, not passed on
SOURCE_OPTIONS = [
    click.option("--source", "source", type=click.Choice(["zipkin", "jaeger", "tempo", "file"]),
                 expose_value=False, callback=_stash, help="Trace backend (default: from the "
                 "URL's scheme, else zipkin)."),
    click.option("--url", "url", expose_value=False, callback=_stash, metavar="URL",
                 help="Backend base URL, or a file; jaeger+http://…, tempo+http://… name the "
                 "backend [default: $TRACEAUDIT_URL, else --zipkin]."),
    click.option("--header", "header", multiple=True, expose_value=False, callback=_stash,
                 metavar="'NAME: VALUE'", help="Send this header to the backend (auth, "
                 "X-Scope-OrgID; repeatable; never printed)."),
]


def source_options(f):
    """--source, --url and --header (what `fetch_options` also adds)."""
    for option in reversed(SOURCE_OPTIONS):
        f = option(f)
    return f


def _open_source(zipkin_url: str):
    """The `TraceSource` of --source/--url/--header, else $TRACEAUDIT_URL, else --zipkin."""
    import os

    from traceaudit.sources import build_source

    ctx = click.get_current_context()
    source = ctx.meta.get("traceaudit.source")
    url = ctx.meta.get("traceaudit.url")
    explicit = ctx.get_parameter_source("zipkin_url") not in (
        None, click.core.ParameterSource.DEFAULT)
    if url is None and source in (None, "zipkin") \
            and (explicit or not os.environ.get("TRACEAUDIT_URL")):
        url, source = zipkin_url, "zipkin"
    try:
        return build_source(url, source=source, headers=ctx.meta.get("traceaudit.header") or ())
    except (ValueError, OSError) as exc:
        _fail(str(exc))


def _links_ui(zipkin_ui: str | None, zipkin_url: str, from_file) -> str | None:
    """The Zipkin UI of trace links: --zipkin-ui, else the Zipkin read (none for others)."""
    if zipkin_ui or from_file:
        return zipkin_ui
    source = _open_source(zipkin_url)
    return source.url if source.kind == "zipkin" else None


def _progress() -> Progress:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TimeElapsedColumn(), console=_err(), transient=True,
                    disable=not _err().is_terminal)


def load_spans(*, zipkin_url, service, span_name, since, until, limit, from_file):
    """Spans DataFrame from a file or a source's window; exits 2 with one line on failure."""
    from traceaudit._jsonstream import JsonShapeError
    from traceaudit.sources import SourceError
    from traceaudit.spans import read_spans, spans_frame
    from traceaudit.window import Window

    try:
        source = None if from_file else _open_source(zipkin_url)
        if source is not None and source.kind == "file":
            from_file = source.url
        if from_file:
            path = Path(from_file)
            if not path.is_file():
                _fail(f"{from_file}: no such file")
            with _progress() as bar:
                task = bar.add_task(f"reading {path.name}", total=path.stat().st_size)
                spans = read_spans(path, keep_tags=False,
                                   progress=lambda done: bar.update(task, completed=done))
            return spans, {"file": str(path)}, False
        window = Window.parse(since, until)
        with _progress() as bar:
            task = bar.add_task(f"fetching traces from {source.url}", total=None)
            pages = []
            for page in source.iter_pages(window, service=service, span=span_name, limit=limit):
                pages.append(page)
                bar.update(task, advance=len(page),
                           description=f"fetched {sum(map(len, pages))} traces")
        spans = spans_frame((t for page in pages for t in page), keep_tags=False)
        where = {"zipkin": source.url} if source.kind == "zipkin" else \
            {"source": source.kind, "url": source.url}
        return spans, {**window.as_dict(), **where}, source.cut_off
    except SourceError as exc:
        _fail(str(exc))
    except JsonShapeError as exc:
        _fail(f"{from_file}: {exc}")
    except ValueError as exc:
        _fail(str(exc))


def _hop_overrides(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, service = value.partition("=")
        if not sep or not name or not service:
            _fail(f"--hop {value!r}: expected NAME=SERVICE")
        out[name.strip()] = service.strip()
    return out


def _default_report(prefix: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"{prefix}-{stamp}.html"


@main.command()
@fetch_options
@click.option("--caller", default=None, help="Service whose calls are the hops "
              "(default: found by following the root's proxies, e.g. gateway → order).")
@click.option("--hop", "hops", multiple=True, metavar="NAME=SERVICE",
              help="Report calls to SERVICE as hop NAME (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--html", "html", type=click.Path(dir_okay=False), default=None,
              help="Write the HTML report here (default reports/orders-<time>.html).")
@click.option("--no-html", is_flag=True, help="Do not write the HTML report.")
@click.option("--zipkin-ui", default=None, help="Zipkin UI base URL for trace links "
              "(default: the --zipkin URL).")
@click.option("--by", type=click.Choice(["hop", "operation"]), default="hop", show_default=True,
              help="operation: also break each hop down by the spans inside it.")
def orders(zipkin_url, service, span_name, since, until, limit, from_file, caller, hops, fmt,
           html, no_html, zipkin_ui, by):
    """Rank the hops of the order placement by their critical-path time."""
    from traceaudit.hops import analyse
    from traceaudit.render import orders_doc, render, render_table
    from traceaudit.report import async_table, render_report

    spans, window, cut_off = load_spans(zipkin_url=zipkin_url, service=service,
                                        span_name=span_name, since=since, until=until,
                                        limit=limit, from_file=from_file)
    analysis = analyse(spans, service=service, span=span_name, caller=caller,
                       hop_names=_hop_overrides(hops), limit_hit=cut_off)
    if not len(analysis.traces):
        _no_endpoint(spans, service, span_name, zipkin_url=zipkin_url, since=since,
                     until=until, limit=limit, from_file=from_file)
    if caller and analysis.caller is None:
        present = sorted(map(str, spans["service"].dropna().unique()))
        click.echo(f"traceaudit: --caller {caller!r}: no such service in these traces; "
                   f"services: {', '.join(present)}", err=True)
        sys.exit(1)
    report = None
    if not no_html and len(analysis.traces):
        report = render_report(analysis, html or _default_report("orders"), window=window,
                               zipkin_ui=_links_ui(zipkin_ui, zipkin_url, from_file))
    doc = orders_doc(analysis, window=window, async_rows=async_table(analysis),
                     by_operation=by == "operation", report=str(report) if report else None)
    width = None if sys.stdout.isatty() else _WIDE
    click.echo(render(doc, fmt) if fmt != "table" else render_table(doc, width), nl=False)
    if report and fmt == "table":
        _err().print(f"report: {report}")


def _no_endpoint(spans, service: str, span_name: str, **source) -> None:
    """Exit 1 naming the root endpoints closest to `service`/`span_name` in the same source."""
    from traceaudit.endpoints import closest, endpoints

    if not source["from_file"]:  # the query was filtered by service and span: ask again
        spans = load_spans(**{**source, "service": None, "span_name": None,
                              "limit": min(source["limit"], 1000)})[0]
    near = closest(endpoints(spans), service, span_name)
    lines = [f"traceaudit: no trace has a {service!r} span named {span_name!r}"]
    if len(near):
        lines.append("closest endpoints present (all: `traceaudit endpoints`):")
        lines += [f"  --service {r.service} --span {r.span!r}  ({r.traces} traces)"
                  for r in near.itertuples()]
    else:
        lines.append("no traces with a root span in this source at all")
    click.echo("\n".join(lines), err=True)
    sys.exit(1)


@main.command("endpoints")
@source_options
@click.option("--zipkin", "zipkin_url", default=_default_zipkin_url,
              show_default="$ZIPKIN_URL or http://127.0.0.1:9411",
              help="Zipkin base URL (without /api/v2).")
@click.option("--since", default="1h", show_default=True,
              help="Start of the window: 15m, 1h, 2d or an ISO time.")
@click.option("--until", default=None, help="End of the window (default now).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1),
              help="Traces per query (a window larger than that is walked page by page).")
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False),
              help="Read saved traces instead of asking Zipkin.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def endpoints_command(zipkin_url, since, until, limit, from_file, fmt):
    """List the root endpoints present (service, span name, traces, p50/p95) to pick one."""
    from traceaudit.endpoints import endpoints

    spans = load_spans(zipkin_url=zipkin_url, service=None, span_name=None, since=since,
                       until=until, limit=limit, from_file=from_file)[0]
    from traceaudit.render import frame_csv, frame_markdown, records

    table = endpoints(spans)
    if fmt == "json":
        click.echo(orjson.dumps(records(table), option=orjson.OPT_INDENT_2).decode())
    elif fmt == "csv":
        click.echo(frame_csv(table), nl=False)
    elif fmt == "markdown":
        click.echo(frame_markdown(table))
    else:
        from rich.table import Table
        from rich.text import Text

        out = Table(title=f"{len(table)} root endpoints")
        for col in ("service", "span", "traces", "p50 ms", "p95 ms"):
            out.add_column(col, justify="left" if col in ("service", "span") else "right")
        for r in table.itertuples():
            out.add_row(Text(str(r.service)), Text(str(r.span)), str(r.traces),
                        f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}")
        _console().print(out)


@main.command()
@fetch_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to save the traces (/api/v2/traces JSON).")
def fetch(zipkin_url, service, span_name, since, until, limit, from_file, output):
    """Save the traces of a window as /api/v2/traces JSON (one trace per line)."""
    from traceaudit.sources import SourceError
    from traceaudit.window import Window

    if from_file:
        _fail("fetch reads from a trace backend; --from-file makes no sense here")
    try:
        window = Window.parse(since, until)
        client = _open_source(zipkin_url)
        count = 0
        with open(output, "wb") as fh, _progress() as bar:
            task = bar.add_task(f"fetching from {client.url}", total=None)
            fh.write(b"[")
            for page in client.iter_pages(window, service=service, span=span_name, limit=limit):
                for trace in page:
                    fh.write((b",\n" if count else b"") + orjson.dumps(trace))
                    count += 1
                bar.update(task, advance=len(page), description=f"fetched {count} traces")
            fh.write(b"]\n")
    except (SourceError, ValueError) as exc:
        _fail(str(exc))
    _err().print(f"saved {count} traces to {output}")


def _side(value: str, opts: dict) -> list:
    """A diff side's raw traces: a saved file (any format), or a window `2h..1h` / `1h`."""
    from traceaudit.sources import FileFormatError, SourceError
    from traceaudit.sources.files import iter_file_traces
    from traceaudit.window import Window

    try:
        if Path(value).is_file():
            return [t for chunk in iter_file_traces(value) for t in chunk]
        since, _, until = value.partition("..")
        window = Window.parse(since, until or None)
        client = _open_source(opts["zipkin_url"])
        return [t for page in client.iter_pages(window, service=opts["service"],
                                                span=opts["span_name"], limit=opts["limit"])
                for t in page]
    except FileFormatError as exc:
        _fail(f"{value}: {exc}")
    except (SourceError, ValueError) as exc:
        _fail(str(exc))


@main.command()
@fetch_options
@click.option("--baseline", required=True, help="A window like 2h..1h, or a saved file.")
@click.option("--current", required=True, help="A window like 1h, or a saved file.")
@click.option("--caller", default=None, help="Service whose calls are the hops.")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(100))
@click.option("--confidence", default=0.95, show_default=True, type=click.FloatRange(0.5, 0.999))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--html", "html", type=click.Path(dir_okay=False), default=None,
              help="Also write an HTML report of the diff here.")
@click.option("--zipkin-ui", default=None, help="Zipkin UI base URL for trace links "
              "(default: the --zipkin URL).")
def diff(zipkin_url, service, span_name, since, until, limit, from_file, baseline, current,
         caller, resamples, confidence, fmt, html, zipkin_ui):
    """What changed between two windows (or files) and why: slowdowns, failures, outages."""
    from traceaudit.diff import compare
    from traceaudit.diff_report import render_diff
    from traceaudit.hops import analyse
    from traceaudit.spans import spans_frame

    opts = dict(zipkin_url=zipkin_url, service=service, span_name=span_name, limit=limit)
    raw = [_side(v, opts) for v in (baseline, current)]
    sides = [analyse(spans_frame(r, keep_tags=False), service=service, span=span_name,
                     caller=caller) for r in raw]
    result = compare(*sides, baseline_traces=raw[0], current_traces=raw[1],
                     resamples=resamples, confidence=confidence)
    report = None
    if html:
        files = all(Path(v).is_file() for v in (baseline, current))
        report = render_diff(result, *sides, html, sources=(baseline, current),
                             zipkin_ui=_links_ui(zipkin_ui, zipkin_url, files))
    table = result.table()
    if fmt == "json":
        doc = result.as_dict()
        doc["baseline"]["source"], doc["current"]["source"] = baseline, current
        doc["report"] = str(report) if report else None
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    elif fmt == "csv":
        from traceaudit.render import frame_csv

        click.echo(frame_csv(table), nl=False)
    elif fmt == "markdown":
        from traceaudit.render import frame_markdown

        click.echo(f"**{result.summary}**\n\n{frame_markdown(table)}")
    else:
        from rich.table import Table

        console = _console()
        console.print(result.summary, markup=False)
        t = result.total
        console.print(f"order total {t.baseline_ms:.1f} → {t.current_ms:.1f} ms "
                      f"({t.estimate_ms:+.1f} [{t.ci_low:+.1f}, {t.ci_high:+.1f}]), "
                      f"{result.baseline.n} → {result.current.n} traces, common drift "
                      f"×{t.drift:.2f}", markup=False)
        out = Table(title=f"{baseline} → {current} ({confidence:.0%} bootstrap CI, Holm)")
        for header in ("#", "hop", "measure", "before", "after", "change [CI]", "verdict"):
            out.add_column(header, justify="left" if header in ("hop", "measure", "verdict")
                           else "right")
        for c in result.changes:
            unit = "{:.2f}" if c.measure == "latency" else "{:.1%}" if c.measure == "errors" \
                else "{:.2f}"
            verdict = c.direction if c.significant else "no significant change"
            label = "failed orders" if c.local and c.measure == "errors" else \
                _MEASURE_LABEL[c.measure]
            out.add_row(str(result.changes.index(c) + 1), c.hop, label,
                        _num(unit, c.baseline), _num(unit, c.current),
                        f"{_num(unit, c.estimate, '+')} [{_num(unit, c.ci_low, '+')}, "
                        f"{_num(unit, c.ci_high, '+')}]", verdict,
                        style=None if c.significant else "dim")
        console.print(out)
        mix = ", ".join(f"{r.outcome} {r.baseline_share:.0%} → {r.current_share:.0%}"
                        for r in result.outcomes.itertuples())
        console.print(f"order answers: {mix}", markup=False)
        for line in result.verdict.evidence:
            console.print(f"  why ({result.verdict.hop}): {line}", markup=False)
    if report and fmt == "table":
        _err().print(f"report: {report}")


_MEASURE_LABEL = {"latency": "crit. path ms/order", "errors": "errors/call",
                  "calls": "calls/order"}


def _num(fmt: str, value, sign: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.replace("{:", "{:" + sign).format(value)


# `traceaudit metrics`: the Grafana dashboards' panels from Prometheus (traceaudit/metrics_cli.py)
from traceaudit.metrics_cli import metrics_command  # noqa: E402

main.add_command(metrics_command)


if __name__ == "__main__":
    main()


