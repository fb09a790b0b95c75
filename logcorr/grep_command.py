"""The `logcorr grep` command itself: what it prints where, and its exit status. The click CLI
and the click-free launcher (`logcorr._launch`) both run it, so they cannot drift apart."""

from __future__ import annotations

import codecs
import contextlib
import io
import sys
from collections.abc import Iterable, Iterator

from logcorr.ripgrep import HeadStart

# The command's defaults, in one place (cli.py's options show them).
FORMAT = "text"
COLOR = "auto"
OUTPUT = "-"
ZONE = "UTC"


def run(
    trace_id: str,
    paths: Iterable[str] = (),
    *,
    span: str | None = None,
    levels: Iterable[str] = (),
    fmt: str = FORMAT,
    color: str = COLOR,
    shifts: Iterable[str] = (),
    use_index: bool = True,
    index_path: str | None = None,
    output: str = OUTPUT,
    tz: str = ZONE,
    strict: bool = False,
    running: HeadStart | None = None,
) -> int:
    """Print the trace's merged lines; 0 when some were found, 1 when none, 2 on errors.

    A path that is missing or unreadable is one warning line on stderr: every other file's
    lines are still printed, and the exit status is 2 (as ripgrep does).
    """
    from logcorr.grep import grep
    from logcorr.timeline import parse_shifts
    from logcorr.timestamps import parse_zone

    try:
        result = grep(trace_id, list(paths) or None, span=span, levels=tuple(levels),
                      zone=parse_zone(tz), shifts=parse_shifts(shifts), use_index=use_index,
                      index_path=index_path, running=running)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        _say(str(exc))
        return 2
    finally:
        if running is not None:
            running.stop()  # a no-op once its output was read
    for warning in result.warnings:
        _say(warning)
    timeline = result.timeline
    with _open_output(output) as out:
        if fmt == "json":
            from logcorr.render import json_lines

            out.write("".join(line + "\n" for line in json_lines(timeline)))
        elif fmt == "html":
            from logcorr.report import render_report

            out.write(render_report(timeline, None, trace_id=trace_id))
        else:
            from logcorr.render import text_lines

            use_color = color == "always" or (color == "auto" and out.isatty() and _color_ok())
            for line in text_lines(timeline, use_color):
                out.write(line + "\n")
    if any(r.zone_assumed for r in timeline.records):
        _say(f"timestamps written without a zone were read as {tz} (--tz)")
    if timeline.records and sys.stderr.isatty():
        _say(f"{len(timeline)} line(s) from {len(timeline.services)} service(s)")
    if result.raw_only:
        _say("no trace-id field recognised in " + ", ".join(result.raw_only)
             + " (their lines matched as raw text)")
    if result.broken.count:
        _say(result.broken.summary())
        if strict:
            return 2
    if result.failed:
        return 2
    return 0 if timeline.records else 1


def _color_ok() -> bool:
    """Color on a terminal unless `NO_COLOR` is set (any value) or `TERM=dumb`."""
    import os

    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _say(message: str) -> None:
    print(f"logcorr: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _open_output(output: str) -> Iterator[io.TextIOBase]:
    """`output` opened for UTF-8 text; `-` is stdout (re-wrapped only if it is not UTF-8)."""
    if output != "-":
        with open(output, "w", encoding="utf-8") as f:
            yield f
        return
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None or codecs.lookup(out.encoding or "ascii").name == "utf-8":
        yield out
        out.flush()
        return
    wrapped = io.TextIOWrapper(buffer, encoding="utf-8", line_buffering=out.line_buffering)
    try:
        yield wrapped
        wrapped.flush()
    finally:
        wrapped.detach()
