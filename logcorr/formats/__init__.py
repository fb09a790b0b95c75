"""One log line to `Record`s, through one registry of formats (`FORMATS`).

Each format is one small object behind one protocol (`common.Format`): JSON formats read a
parsed object, text formats a decoded line, wrappers (CRI, Docker json-file) hand their inner
line back to the others. A file's format and id fields are sniffed from its first lines; a line
its format cannot read falls back to the others. Adding a format: one `RegexFormat` row in
`text_formats.TEXT_FORMATS`, or one small class added to `FORMATS` below.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from logcorr import jsonline
from logcorr.formats.common import SPAN_PATHS, TRACE_PATHS, Format, compiled, id_at, normalize_level
from logcorr.formats.json_formats import AspNetJson, Clef, DockerJsonFile, GenericJson, OtlpLogs
from logcorr.formats.text_formats import TEXT_FORMATS, TEXT_TIME, CriWrapper, GenericText
from logcorr.record import ERROR_LEVELS, Record

__all__ = ["BLANK", "BROKEN", "CONTINUATION", "ERROR_LEVELS", "FORMATS", "FileFormat", "Format",
           "Record", "detect_format", "is_continuation", "normalize_level", "parse_line"]

CRI, DOCKER = CriWrapper(), DockerJsonFile()
GENERIC_JSON, GENERIC_TEXT = GenericJson(), GenericText()
JSON_FORMATS: list[Format] = [OtlpLogs(), Clef(), AspNetJson(), GENERIC_JSON]
# Every format, in the order they are tried: the registry the readers, the index and the docs
FORMATS: list = [CRI, DOCKER, *JSON_FORMATS, *TEXT_FORMATS, GENERIC_TEXT]
_TEXT_BY_NAME = {f.name: f for f in (*TEXT_FORMATS, GENERIC_TEXT)}

BROKEN = "broken"
CONTINUATION = "continuation"
BLANK = "blank"
BOM = b"\xef\xbb\xbf"
_CONTINUATION = (
    r"\s|Traceback \(|Caused by|During handling|The above exception|\.\.\. \d+ more"
    r"|[\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b"
)


def is_continuation(text: str) -> bool:
    """A line that belongs to the record above it (a traceback or a Java stack trace)."""
    return bool(text) and compiled(_CONTINUATION).match(text) is not None


class FileFormat:
    """What sampling a file's first lines taught: JSON or text, which id fields it uses, and
    which text format its lines are in."""

    __slots__ = ("kind", "trace_path", "span_path", "service", "zone", "decimal_ids", "text")

    def __init__(
        self, kind: str = "json", trace_path: int = 0, span_path: int = 0, service: str = "",
        zone: tzinfo = UTC, decimal_ids: bool = False, text: str = "text",
    ) -> None:
        self.kind = kind  # "json" | "text"
        self.trace_path, self.span_path = trace_path, span_path
        self.service = service  # fallback service name (the file's stem)
        self.zone = zone
        self.decimal_ids = decimal_ids  # Datadog's decimal ids seen (JSON or `dd.trace_id=`)
        self.text = text  # the text format most sampled lines are in

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileFormat) and self._values() == other._values()

    def __repr__(self) -> str:
        return "FileFormat(" + ", ".join(
            f"{name}={value!r}" for name, value in zip(self.__slots__, self._values(), strict=True)
        ) + ")"

    def dumps(self) -> str:
        """What sniffing found, as the index keeps it (id paths by name, not position)."""
        return jsonline.dumps({"kind": self.kind, "trace": TRACE_PATHS[self.trace_path][0],
                               "span": SPAN_PATHS[self.span_path][0],
                               "decimal": self.decimal_ids, "text": self.text})

    @classmethod
    def loads(cls, text: str, service: str, zone: tzinfo = UTC) -> FileFormat | None:
        """The format `dumps` wrote; None if it names an id path this version does not know."""
        try:
            found = jsonline.loads(text)
            trace = [path for path, _, _ in TRACE_PATHS].index(tuple(found["trace"]))
            span = [path for path, _, _ in SPAN_PATHS].index(tuple(found["span"]))
            kind = found.get("text", "text")
            if kind not in _TEXT_BY_NAME:
                return None
            return cls(kind=found["kind"], trace_path=trace, span_path=span, service=service,
                       zone=zone, decimal_ids=bool(found["decimal"]), text=kind)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def detect_format(sample: list[bytes], service: str, zone: tzinfo = UTC) -> FileFormat:
    """Sample lines → the file's kind, trace-id and span-id paths and text format (the most
    used ones)."""
    fmt = FileFormat(service=service, zone=zone)
    json_lines = text_lines = 0
    trace_hits: dict[int, int] = {}
    span_hits: dict[int, int] = {}
    text_hits: dict[str, int] = {}
    for raw in sample:
        raw = raw.strip().removeprefix(BOM)
        if not raw:
            continue
        if (inner := CRI.unwrap(raw)) is not None:
            raw = inner[0]
        if raw[:1] == b"{":
            try:
                obj = jsonline.loads(raw)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            if (inner := DOCKER.unwrap(obj)) is not None and inner[0][:1] != b"{":
                raw = inner[0]
            else:
                json_lines += 1
                for hits, paths in ((trace_hits, TRACE_PATHS), (span_hits, SPAN_PATHS)):
                    for i, spec in enumerate(paths):
                        if id_at(obj, spec) is not None:
                            hits[i] = hits.get(i, 0) + 1
                            break
                continue
        text_lines += 1
        fmt.decimal_ids = fmt.decimal_ids or b"dd.trace_id=" in raw
        text = raw.decode("utf-8", "replace")
        if is_continuation(text):
            continue
        name = next((f.name for f in TEXT_FORMATS if compiled(f.pattern).match(text)), "text")
        text_hits[name] = text_hits.get(name, 0) + 1
    fmt.kind = "json" if json_lines >= text_lines else "text"
    if trace_hits:
        fmt.trace_path = max(trace_hits, key=trace_hits.__getitem__)
        fmt.decimal_ids = fmt.decimal_ids or TRACE_PATHS[fmt.trace_path][2]
    if span_hits:
        fmt.span_path = max(span_hits, key=span_hits.__getitem__)
    if text_hits:
        fmt.text = max(text_hits, key=text_hits.__getitem__)
    return fmt


def parse_line(
    raw: bytes, fmt: FileFormat, file: str, line: int, offset: int = 0,
    loads: jsonline.Loads = jsonline.loads,
):
    """A raw line → a `Record` (a list of them for a batch line such as OTLP's), or one of
    `BROKEN`, `CONTINUATION`, `BLANK`. Readers of every line pass `loads=jsonline.bulk_loads()`.
    A UTF-8 BOM, CR before the newline and invalid UTF-8 are read alike on every path."""
    stripped = raw.rstrip(b"\r\n")
    if stripped[:3] == BOM:
        stripped = stripped[3:]
    if not stripped.strip():
        return BLANK
    if b"\x00" in stripped:
        return BROKEN
    return _parse(stripped, fmt, file, line, offset, loads, True)


def _parse(stripped: bytes, fmt: FileFormat, file: str, line: int, offset: int,
           loads: jsonline.Loads, outer: bool):
    if stripped[:1] == b"{":
        try:
            obj = loads(stripped)
        except ValueError:
            return BROKEN
        if not isinstance(obj, dict):
            return BROKEN
        if outer and (inner := DOCKER.unwrap(obj)) is not None:
            return _unwrapped(inner, stripped, fmt, file, line, offset, loads)
        raw_text = stripped.decode("utf-8", "replace")
        for f in JSON_FORMATS:
            found = f.parse(obj, fmt, file, line, offset)
            if found is not None:
                for rec in found if isinstance(found, list) else (found,):
                    rec.raw = raw_text
                return found if not isinstance(found, list) or found else BROKEN
    if outer and (inner := CRI.unwrap(stripped)) is not None:
        return _unwrapped(inner, stripped, fmt, file, line, offset, loads)
    text = stripped.decode("utf-8", "replace")
    if is_continuation(text):
        return CONTINUATION
    if fmt.kind == "json" and stripped[:1] != b"{" \
            and compiled(TEXT_TIME).match(text) is None and "=" not in text \
            and not any(compiled(f.pattern).match(text) for f in TEXT_FORMATS):
        # Neither JSON nor a recognisable text record inside a JSON log: a damaged line.
        return BROKEN
    if stripped[:1] == b"{":
        return BROKEN
    preferred = _TEXT_BY_NAME.get(fmt.text, GENERIC_TEXT)
    found = preferred.parse(text, fmt, file, line, offset)
    if found is None:
        for f in TEXT_FORMATS:
            if f is not preferred and (found := f.parse(text, fmt, file, line, offset)):
                break
        else:
            found = GENERIC_TEXT.parse(text, fmt, file, line, offset)
    return found


def _unwrapped(inner: tuple[bytes, object], outer_raw: bytes, fmt: FileFormat, file: str,
               line: int, offset: int, loads: jsonline.Loads):
    """The inner line of a wrapper, parsed; the wrapper's time where the line has none."""
    from logcorr.timestamps import parse_timestamp

    body, when = inner
    found = _parse(body, fmt, file, line, offset, loads, False)
    if found is CONTINUATION:  # a wrapped traceback line: a record of its own
        found = GENERIC_TEXT.parse(body.decode("utf-8", "replace"), fmt, file, line, offset)
    if not isinstance(found, Record | list):
        return found
    for rec in found if isinstance(found, list) else (found,):
        if rec.ts_us is None:
            rec.ts_us, rec.zone_assumed = parse_timestamp(when, fmt.zone)
            rec.sort_us = rec.ts_us
        rec.raw = outer_raw.decode("utf-8", "replace")
    return found
