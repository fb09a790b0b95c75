"""Ids, timestamps and single lines of the formats in the research notes."""

from __future__ import annotations

import pytest

from logcorr.formats import BROKEN, CONTINUATION, FileFormat, detect_format, parse_line
from logcorr.formats.common import TRACE_PATHS
from logcorr.ids import normalize_id, same_trace, search_literals
from logcorr.scan import TraceScan
from logcorr.timestamps import parse_timestamp

TID = "4bf92f3577b34da6a3ce929d0e0e4736"
SID = "00f067aa0ba902b7"


@pytest.mark.parametrize(("value", "kwargs", "expected"), [
    (TID.upper(), {}, TID),
    ("0x" + TID, {}, TID),
    ("00000000000000000af7651916cd43dd", {}, "0af7651916cd43dd"),
    ("af7651916cd43dd", {}, "0af7651916cd43dd"),
    ("1-5759e988-bd862e3fe1be46a994272793", {}, "5759e988bd862e3fe1be46a994272793"),
    (str(int(TID[16:], 16)), {"decimal": True}, TID[16:]),
    ("0", {}, None), ("0" * 32, {}, None), ("xyz", {}, None), ("", {}, None),
])
def test_normalize_id(value, kwargs, expected):
    assert normalize_id(value, **kwargs) == expected


def test_same_trace_and_literals():
    assert same_trace(TID, TID[16:]) and same_trace(TID[16:], TID)
    assert not same_trace(TID, TID[:16]) and not same_trace(None, TID)
    hexed, decimal = search_literals(TID)
    assert all(hexed in line.lower() for line in (TID, TID.upper(), TID[16:], "0" * 16 + TID[16:]))
    assert decimal == str(int(TID[16:], 16))
    assert search_literals("00000000000000000000000000abcdef") == ("0000000000abcdef", "11259375")


@pytest.mark.parametrize(("text", "us", "assumed"), [
    ("2026-11-25T10:00:00.123456Z", 1_795_600_800_123_456, False),
    ("2026-11-25T11:00:00.123+01:00", 1_795_600_800_123_000, False),
    ("2026-11-25 10:00:00,123", 1_795_600_800_123_000, True),
    (1_795_600_800.5, 1_795_600_800_500_000, False),
    (1_795_600_800_123, 1_795_600_800_123_000, False),
    (1_795_600_800_123_456, 1_795_600_800_123_456, False),
    ("1795600800123456789", 1_795_600_800_123_456, False),
    ("not a time", None, False),
])
def test_timestamps(text, us, assumed):
    assert parse_timestamp(text) == (us, assumed)


LINES = {
    "structlog": f'{{"timestamp":"2026-11-25T10:00:00Z","level":"info","service":"order",'
                 f'"event":"hi","trace_id":"{TID}","span_id":"{SID}"}}',
    "ecs dotted": f'{{"@timestamp":"2026-11-25T10:00:00Z","log.level":"INFO","message":"hi",'
                  f'"service.name":"order","trace.id":"{TID}","span.id":"{SID}"}}',
    "traceparent": f'{{"time":"2026-11-25T10:00:00Z","msg":"hi","service":"order",'
                   f'"traceparent":"00-{TID}-{SID}-01"}}',
    "gcp": f'{{"timestamp":"2026-11-25T10:00:00Z","message":"hi","service":"order",'
           f'"logging.googleapis.com/trace":"projects/p/traces/{TID}",'
           f'"logging.googleapis.com/spanId":"{SID}"}}',
    "b3": f'{{"ts":1795600800,"msg":"hi","app":"order","b3":"{TID}-{SID}-1"}}',
    "logfmt": f'ts=2026-11-25T10:00:00Z level=info service=order traceID={TID} spanID={SID} '
              f'msg="hi"',
    "spring 3.0": f"2026-11-25T10:00:00.000Z  INFO [order,{TID},{SID}] 1 --- [main] c.e.O : hi",
    "micrometer": f"2026-11-25T10:00:00.000Z  INFO 1 --- [order] [main] [{TID}-{SID}] c.e.O : hi",
}


def test_datadog_text_lines_are_searched_in_decimal(tmp_path):
    path = tmp_path / "dd.log"
    path.write_text(f"2026-11-25T10:00:00Z INFO dd.trace_id={int(TID[16:], 16)} "
                    f"dd.span_id={int(SID, 16)} dd.service=order hi\n")
    fmt = detect_format(path.read_bytes().splitlines(), "dd")
    assert fmt.kind == "text" and fmt.decimal_ids
    records = TraceScan(TID).files([str(path)])
    assert [(r.trace_id, r.span_id, r.service) for r in records] == [(TID[16:], SID, "order")]


@pytest.mark.parametrize("name", sorted(LINES))
def test_formats_give_the_same_record(name):
    raw = LINES[name].encode()
    fmt = detect_format([raw], "fallback")
    rec = parse_line(raw, fmt, "f", 1)
    assert (rec.trace_id, rec.span_id, rec.service, rec.message, rec.ts_us) == \
           (TID, SID, "order", "hi", 1_795_600_800_000_000), name


def test_detection_prefers_the_files_field_and_falls_back():
    lines = [f'{{"otelTraceID":"{TID}","message":"a"}}'.encode()] * 3
    fmt = detect_format(lines, "svc")
    assert fmt.kind == "json" and TRACE_PATHS[fmt.trace_path][0] == ("otelTraceID",)
    switched = parse_line(f'{{"trace_id":"{TID[16:]}","event":"b"}}'.encode(), fmt, "f", 4)
    assert switched.trace_id == TID[16:] and switched.service == "svc"


def test_continuations_and_broken_lines():
    fmt = FileFormat()
    for text in ("Traceback (most recent call last):", "  File \"x.py\", line 1",
                 "ValueError: boom", "\tat com.example.A.b(A.java:1)", "Caused by: x",
                 "\t... 12 more"):
        assert parse_line(text.encode(), fmt, "f", 1) is CONTINUATION, text
    for raw in (b'{"timestamp": "2026-11-25T10:00:00Z", "trace_', b"\x00\x01garbage",
                b"[1, 2]", b"just words in a json file"):
        assert parse_line(raw, fmt, "f", 1) is BROKEN, raw


def test_a_format_round_trips_through_its_stored_form():
    fmt = FileFormat(kind="json", trace_path=4, span_path=5, service="svc", decimal_ids=True)
    assert FileFormat.loads(fmt.dumps(), "svc") == fmt
    assert FileFormat.loads('{"kind":"json","trace":["nope"],"span":["span_id"],'
                            '"decimal":false}', "svc") is None  # an id path this version lacks


def test_every_registered_format_reads_its_own_example():
    """The registry's examples (the README's format table) parse, by that format, to the
    trace 4bf92f35…4736 (in full, or its low half where the format carries only that)."""
    from logcorr.formats import FORMATS

    assert len(FORMATS) >= 12
    for f in FORMATS:
        fmt = detect_format([f.example.encode()], "svc")
        found = parse_line(f.example.encode(), fmt, "f", 1)
        rec = found[0] if isinstance(found, list) else found
        assert rec.trace_id is not None and TID.endswith(rec.trace_id), f.name
        assert rec.format == f.name or f.kind == "wrapper", (f.name, rec.format)
        assert rec.ts_us is not None, f.name


def test_the_readme_lists_every_registered_format():
    from pathlib import Path

    from logcorr.formats import FORMATS

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert [f.name for f in FORMATS if f"| `{f.name}` |" not in readme] == []
