"""The one record type every format, reader and output shares."""

from __future__ import annotations

ERROR_LEVELS = frozenset({"error", "critical", "fatal", "exception", "alert", "emergency"})


# Plain classes with __slots__, not dataclasses: `dataclasses` imports `inspect` (~12 ms), a
# quarter of an indexed grep's whole run.
class Record:
    """One log record: its first line plus any continuation lines (a traceback).

    `parsed` is False for a line no format could read (shown raw); `matched_form` names the
    form of the trace id found in the line's bytes (`hex32`, `hex16`, `decimal`, `uuid`,
    `xray`); `sort_us` is where a record without a time of its own sorts (its file neighbour's).
    """

    __slots__ = ("ts_us", "service", "level", "message", "trace_id", "span_id", "file", "line",
                 "offset", "raw", "extra", "fields", "zone_assumed", "parsed", "matched_form",
                 "sort_us", "format")

    def __init__(
        self, ts_us: int | None, service: str, level: str, message: str, trace_id: str | None,
        span_id: str | None, file: str, line: int, offset: int = 0, raw: str = "",
        extra: list[str] | None = None, fields: dict[str, object] | None = None,
        zone_assumed: bool = False, parsed: bool = True, format: str = "",
    ) -> None:
        self.ts_us = ts_us
        self.service = service
        self.level = level
        self.message = message
        self.trace_id = trace_id
        self.span_id = span_id
        self.file = file
        self.line = line
        self.offset = offset
        self.raw = raw
        self.zone_assumed = zone_assumed
        self.extra = [] if extra is None else extra
        self.fields = {} if fields is None else fields
        self.parsed = parsed
        self.matched_form: str | None = None
        self.sort_us: int | None = ts_us
        self.format = format

    def __repr__(self) -> str:
        return (f"Record({self.file}:{self.line} {self.ts_us} {self.service} {self.level} "
                f"{self.message!r} trace={self.trace_id} span={self.span_id})")

    @property
    def error(self) -> bool:
        """An error-level line, or one carrying an exception or a traceback."""
        return (
            self.level in ERROR_LEVELS
            or any(k in self.fields for k in ("exc_info", "exception", "stack_trace", "exc_text",
                                              "@x", "Exception"))
            or any(x.lstrip().startswith(("Traceback", "Caused by", "at ")) for x in self.extra)
        )


def unparsed(raw: str, service: str, file: str, line: int, offset: int = 0) -> Record:
    """A line no format could read: kept whole, flagged, with its file and line."""
    return Record(None, service, "", raw, None, None, file, line, offset, raw, parsed=False)
