"""`logcorr`: one trace's log lines from every service, merged (click, thin over the API)."""

from __future__ import annotations

import sys

import click

from logcorr import grep_command
from traceaudit._version import __version__

FORMATS = click.Choice(["text", "json", "html"])
# not checked here: a path that cannot be read is a warning, the others are still read
_paths = click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, readable=False))
_tz = click.option("--tz", default=grep_command.ZONE, show_default=True,
                   help="Zone of timestamps written without one (UTC, +01:00, Europe/Paris).")
_strict = click.option("--strict", is_flag=True, help="Broken lines are an error (exit 2).")


def _zone(tz: str):
    from logcorr.timestamps import parse_zone

    try:
        return parse_zone(tz)
    except (ValueError, KeyError) as exc:
        raise click.BadParameter(f"unknown zone {tz!r}", param_hint="--tz") from exc


def _fail(message: str) -> None:
    click.echo(f"logcorr: {message}", err=True)
    sys.exit(2)


def _finish_broken(broken, strict: bool) -> None:
    if broken.count:
        click.echo(f"logcorr: {broken.summary()}", err=True)
        if strict:
            sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="logcorr")
def main() -> None:
    """One trace's log lines from every service, merged by time (default paths: var/log/)."""


@main.command()
@click.argument("trace_id")
@_paths
@click.option("--span", help="Only the lines of this span id.")
@click.option("--level", "levels", multiple=True, help="Only these levels (repeatable).")
@click.option("--format", "fmt", type=FORMATS, default=grep_command.FORMAT, show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]),
              default=grep_command.COLOR, show_default=True)
@click.option("--shift", "shifts", multiple=True, metavar="SERVICE=MS",
              help="Correct a service's clock by MS milliseconds (repeatable).")
@click.option("--no-index", is_flag=True, help="Scan the files even where an index exists.")
@click.option("--index", "index_path", type=click.Path(dir_okay=False),
              help="Index file (default: .logcorr.sqlite3 beside the logs).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              default=grep_command.OUTPUT, help="Where to write (html defaults to stdout too).")
@_tz
@_strict
def grep(trace_id, paths, span, levels, fmt, color, shifts, no_index, index_path, output, tz,
         strict):
    """Every log line of TRACE_ID (16 or 32 hex) from every file, merged by time.

    Exit status: 0 when lines were found, 1 when none, 2 on errors.
    """
    _zone(tz)  # a bad --tz is a usage error
    sys.exit(grep_command.run(trace_id, paths, span=span, levels=levels, fmt=fmt, color=color,
                              shifts=shifts, use_index=not no_index, index_path=index_path,
                              output=output, tz=tz, strict=strict))


@main.command()
@_paths
@click.option("--since", help="Only traces that end at/after this time (ISO) or age (10m, 2h, 1d).")
@click.option("--service", "services", multiple=True, help="Only traces touching this service.")
@click.option("--errors", is_flag=True, help="Only traces with an error line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--limit", type=int, default=0, help="At most this many rows (newest first).")
@click.option("--no-index", is_flag=True, help="Read every file even where an index exists.")
@click.option("--index", "index_path", type=click.Path(dir_okay=False),
              help="Index file (default: .logcorr.sqlite3 beside the logs).")
@_tz
@_strict
def traces(paths, since, services, errors, fmt, limit, no_index, index_path, tz, strict):
    """One row per trace id: lines, services, errors, first and last time, duration."""
    from logcorr.paths import expand_paths
    from logcorr.traces import parse_since, summarize

    try:
        since_us = parse_since(since) if since else None
    except ValueError as exc:
        _fail(str(exc))
    warnings: list[str] = []
    files = expand_paths(list(paths) or None, warnings)
    rows, broken = summarize(files, zone=_zone(tz), since_us=since_us, services=services,
                             errors_only=errors, progress=sys.stderr.isatty(),
                             warnings=warnings, use_index=not no_index, index_path=index_path)
    if limit:
        rows = rows[:limit]
    if fmt == "json":
        import orjson

        for row in rows:
            click.echo(orjson.dumps(row.as_dict()).decode())
    else:
        from logcorr.traces import print_table

        print_table(rows)
    _warn(warnings)
    _finish_broken(broken, strict)
    sys.exit(2 if warnings else 0 if rows else 1)


@main.command()
@_paths
@click.option("--index", "index_path", type=click.Path(dir_okay=False),
              help="Index file (default: .logcorr.sqlite3 beside the logs).")
@_tz
@_strict
def index(paths, index_path, tz, strict):
    """Build or update the on-disk index (only new files and appended tails are read)."""
    import time

    from logcorr.index import Index
    from logcorr.paths import default_index_path, expand_paths

    warnings: list[str] = []
    files = expand_paths(list(paths) or None, warnings)
    if not files:
        _warn(warnings)
        _fail("nothing to index")
    path = index_path or default_index_path(files)
    started = time.perf_counter()
    idx = Index(path)
    try:
        with _byte_progress(files) as advance:
            stats, broken = idx.update(files, zone=_zone(tz), progress=advance,
                                       warnings=warnings)
    finally:
        idx.close()
    click.echo(
        f"{path}: indexed {stats.files} file(s), {stats.bytes / 1e6:.1f} MB, {stats.lines} lines, "
        f"{stats.postings} postings in {time.perf_counter() - started:.2f}s"
        + (f"; {stats.skipped} input(s) not indexable (stdin, .gz without indexed_gzip)"
           if stats.skipped else ""),
        err=True,
    )
    _warn(warnings)
    _finish_broken(broken, strict)
    if warnings:
        sys.exit(2)


def _warn(warnings: list[str]) -> None:
    """One line on stderr per path that could not be read (the others were)."""
    for warning in warnings:
        click.echo(f"logcorr: {warning}", err=True)


def _byte_progress(files: list[str]):
    """A rich progress bar over the files' bytes on a terminal; nothing otherwise."""
    import contextlib
    import os

    if not sys.stderr.isatty():
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar():
        from rich.progress import Progress

        total = sum(os.path.getsize(f) for f in files if os.path.isfile(f)
                    and os.access(f, os.R_OK))
        with Progress(transient=True) as progress:
            task = progress.add_task("indexing", total=total)
            yield lambda n: progress.advance(task, n)

    return bar()


@main.command()
@click.argument("trace_id")
@_paths
@click.option("--zipkin", "zipkin_url", help="Zipkin base URL to fetch the trace's spans from.")
@click.option("--spans", "spans_file", type=click.Path(exists=True, dir_okay=False),
              help="Trace file with the trace's spans (Zipkin, Jaeger or OTLP JSON).")
@click.option("--trace-source", "trace_source", metavar="URL",
              help="Where the spans are: a Zipkin URL, jaeger+http://…, tempo+http://… or a "
              "trace file.")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="Header for --trace-source (auth, X-Scope-OrgID; repeatable; never printed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="HTML file to write (default reports/logcorr-TRACE_ID.html).")
@_tz
@_strict
def report(trace_id, paths, zipkin_url, spans_file, trace_source, headers, output, tz, strict):
    """One self-contained HTML page: the span waterfall with each span's log lines under it."""
    from pathlib import Path

    from logcorr.grep import grep as run
    from logcorr.report import render_report
    from logcorr.spans import SpansUnavailable, load_spans

    if not zipkin_url and not spans_file and not trace_source:
        _fail("report needs --trace-source URL, --zipkin URL or --spans FILE")
    try:
        result = run(trace_id, list(paths) or None, zone=_zone(tz))
        canonical = result.trace_id.removeprefix("0" * 16)  # a 64-bit trace: its 16 hex
        spans = load_spans(canonical, zipkin_url=zipkin_url, spans_file=spans_file,
                           trace_source=trace_source, headers=headers)
    except (ValueError, FileNotFoundError, SpansUnavailable) as exc:
        _fail(str(exc))
    html = render_report(result.timeline, spans, trace_id=trace_id)
    target = output or f"reports/logcorr-{trace_id}.html"
    if target == "-":
        click.echo(html)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(html, encoding="utf-8")
        click.echo(f"{target}: {len(spans)} span(s), {len(result.timeline)} log line(s)",
                   err=True)
    _warn(result.warnings)
    _finish_broken(result.broken, strict)
    if result.failed:
        sys.exit(2)
