"""A timeline as text (service-colored, one line a record) or JSON lines."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from logcorr import jsonline
from logcorr.record import Record
from logcorr.timeline import Timeline
from logcorr.timestamps import format_us

MAX_TEXT = 64 * 1024  # characters of one line's text shown; a 10 MB line is cut, and says so

# ANSI foreground colors that read well on dark and light terminals.
_PALETTE = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94)
_LEVEL_COLORS = {"error": 31, "critical": 31, "fatal": 31, "warning": 33, "debug": 90}


def service_color(service: str) -> int:
    """A stable color per service name (the same in every run)."""
    return _PALETTE[zlib.crc32(service.encode()) % len(_PALETTE)]


def _paint(text: str, code: int, color: bool, bold: bool = False) -> str:
    if not color:
        return text
    return f"\x1b[{'1;' if bold else ''}{code}m{text}\x1b[0m"


def text_lines(timeline: Timeline, color: bool = False) -> Iterator[str]:
    """`HH:MM:SS.ffffff  +offset ms  service  LEVEL  message  key=value…`, tracebacks below."""
    width = max((len(r.service) for r in timeline.records), default=0)
    for rec, offset in zip(timeline.records, timeline.offsets_ms, strict=True):
        clock = format_us(rec.ts_us)[11:26] if rec.ts_us is not None else "time unknown".ljust(15)
        level = (rec.level or "-").upper()[:5]
        fields = " ".join(f"{k}={_short(v)}" for k, v in rec.fields.items()
                          if k not in ("exc_info", "exception", "stack_trace"))
        head = (
            f"{clock} {_offset(offset)} "
            f"{_paint(rec.service.ljust(width), service_color(rec.service), color, True)} "
            f"{_paint(level.ljust(5), _LEVEL_COLORS.get(rec.level, 0), color and rec.level in _LEVEL_COLORS)} "  # noqa: E501
            f"{bound(rec.message)}"
        )
        if not rec.parsed:
            head += f"  {_paint('(unparsed ' + rec.file + ':' + str(rec.line) + ')', 90, color)}"
        if fields:
            head += f"  {_paint(fields, 90, color)}"
        if rec.span_id:
            head += f"  {_paint('span=' + rec.span_id, 90, color)}"
        yield head
        for key in ("exc_info", "exception", "stack_trace"):
            if isinstance(rec.fields.get(key), str):
                for extra in rec.fields[key].splitlines():
                    yield "    │ " + _paint(extra, 31, color)
        for extra in rec.extra:
            yield "    │ " + _paint(extra, 31 if rec.error else 90, color)


def _offset(offset: float | None) -> str:
    return " " * 12 if offset is None else f"{offset:+10.3f}ms"


def bound(text: str) -> str:
    """A line's text, cut at `MAX_TEXT` characters with the size of what was left out."""
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT} more characters)"


def _short(value: object) -> str:
    text = value if isinstance(value, str) else jsonline.dumps(value)
    return text if len(text) <= 80 else text[:77] + "…"


def as_dict(rec: Record, offset_ms: float | None) -> dict:
    """The JSON form of one record (one object a line, in merged order). `offset_ms` is null
    when the time is unknown; `parsed` is false for a line no format read (then `message` is
    the raw line); `matched_form` is the form the id had in the line."""
    return {
        "timestamp": format_us(rec.ts_us) or None,
        "offset_ms": None if offset_ms is None else round(offset_ms, 3),
        "service": rec.service,
        "level": rec.level,
        "message": bound(rec.message),
        "trace_id": rec.trace_id,
        "matched_form": rec.matched_form,
        "parsed": rec.parsed,
        "format": rec.format or None,
        "span_id": rec.span_id,
        "file": rec.file,
        "line": rec.line,
        "error": rec.error,
        "zone_assumed": rec.zone_assumed,
        "continuation": rec.extra,
        "fields": rec.fields,
    }


def json_lines(timeline: Timeline) -> Iterator[str]:
    for rec, offset in zip(timeline.records, timeline.offsets_ms, strict=True):
        yield jsonline.dumps(as_dict(rec, offset))
