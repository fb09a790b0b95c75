"""`logcorr grep`: merged order across formats and skewed clocks, ids, filters, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from logcorr.grep import grep
from logcorr.ripgrep import binary as ripgrep
from logcorr.scan import TraceScan
from tests.logcorr._modules import modules_loaded


def _story(rows: list[dict]) -> list[tuple[str, str]]:
    return [(r["service"], r["message"]) for r in rows]


def test_merged_order_across_every_format(corpus, cli):
    for trace_id in list(corpus.traces)[:8]:
        every = cli.json("grep", trace_id, corpus.folder)
        rows = [r for r in every if r["parsed"]]
        # a truncated line carrying the id is shown raw, flagged, after its file's neighbour
        cut = [r for r in every if not r["parsed"]]
        assert len(cut) == corpus.broken_with_trace.get(trace_id, 0)
        for r in cut:
            assert r["offset_ms"] is None and r["timestamp"] is None and '"cut"' in r["message"]
            before = every[every.index(r) - 1]
            assert (before["service"], before["line"]) == ("order", r["line"] - 1)
        expected = corpus.expected(trace_id)
        assert _story(rows) == [(e.service, e.message) for e in expected]
        assert {r["service"] for r in rows} == {
            "gateway", "order", "customer", "product", "inventory", "payment", "shipping",
            "audit", "notification", "web"}
        stamps = [r["timestamp"] for r in rows if r["timestamp"]]
        assert stamps == sorted(stamps)
        # the offset is from the trace's first line, in ms
        assert rows[0]["offset_ms"] == 0
        first, last = expected[0].logged_us, expected[-1].logged_us
        assert rows[-1]["offset_ms"] == pytest.approx((last - first) / 1000, abs=0.002)


def test_clock_skew_is_visible_and_shift_corrects_it(corpus, cli):
    trace_id = corpus.clean_trace
    skewed = cli.json("grep", trace_id, corpus.folder)
    # notification's clock runs 250 ms ahead: it comes last although it logged before web
    assert skewed[-1]["service"] == "notification"
    assert skewed[0]["service"] == "web"  # web's clock is 40 ms behind
    fixed = cli.json("grep", trace_id, corpus.folder,
                     "--shift", "notification=-250", "--shift", "web=40")
    true_order = sorted(corpus.traces[trace_id], key=lambda e: e.true_us)
    assert [r["service"] for r in fixed] == [e.service for e in true_order]
    assert fixed[-1]["service"] == "web"


def test_json_fields(corpus, cli):
    trace_id = corpus.error_trace
    rows = cli.json("grep", trace_id, corpus.folder)
    assert len(rows) == len(corpus.traces[trace_id])
    for row in rows:
        for key in ("timestamp", "service", "level", "message", "trace_id", "span_id", "file",
                    "line"):
            assert key in row
        assert row["span_id"] == corpus.spans[trace_id][row["service"]]
        assert row["trace_id"] == trace_id  # one canonical 32-hex id, whatever the line had
        if "detail" in row["message"]:  # the one line written without a time
            assert row["timestamp"] is None and row["offset_ms"] is None
        else:
            assert row["timestamp"].endswith("Z") and isinstance(row["offset_ms"], float)
        assert row["parsed"] is True
        assert Path(row["file"]).exists() and row["line"] >= 1
    by_service = {r["service"]: r for r in rows}
    assert by_service["payment"]["matched_form"] == "hex16"  # Sleuth logs the low half
    assert by_service["notification"]["matched_form"] == "decimal"  # Datadog
    assert by_service["gateway"]["matched_form"] == "hex32"
    # a 16-hex query still answers with the 32-hex id the other lines carry
    assert {r["trace_id"] for r in cli.json("grep", trace_id[16:], corpus.folder)} == {trace_id}
    # the file and line point at the record's own line
    gw = by_service["gateway"]
    line = Path(gw["file"]).read_text().splitlines()[gw["line"] - 1]
    assert gw["message"] in line and trace_id in line


def test_tracebacks_stay_with_their_line(corpus, cli):
    trace_id = corpus.error_trace
    rows = {r["service"]: r for r in cli.json("grep", trace_id, corpus.folder)}
    events = {e.service: e for e in corpus.traces[trace_id]}
    for service in ("order", "payment"):
        assert rows[service]["level"] == "error" and rows[service]["error"] is True
        assert len(rows[service]["continuation"]) == events[service].continuation > 0
    assert rows["order"]["continuation"][-1] == "RuntimeError: payment answered 500"
    assert rows["payment"]["continuation"][1].lstrip().startswith("at com.example")
    assert rows["gateway"]["continuation"] == []


@pytest.mark.parametrize("form", ["32", "16", "upper"])
def test_16_and_32_hex_ids_match_each_other(corpus, cli, form):
    trace_id = next(iter(corpus.traces))
    trace_id = corpus.clean_trace
    query = {"32": trace_id, "16": trace_id[16:], "upper": trace_id.upper()}[form]
    rows = cli.json("grep", query, corpus.folder)
    assert len(rows) == len(corpus.traces[trace_id])


def test_a_high_half_alone_does_not_match(corpus, cli):
    trace_id = next(iter(corpus.traces))
    result = cli("grep", trace_id[:16], corpus.folder)
    assert result.exit_code == 1 and result.stdout == ""


def test_exit_codes(corpus, cli):
    assert cli("grep", next(iter(corpus.traces)), corpus.folder).exit_code == 0
    assert cli("grep", "ab" * 16, corpus.folder).exit_code == 1
    assert cli("grep", "0" * 32, corpus.folder).exit_code == 2  # all-zero: no trace
    bad = cli("grep", "not-hex", corpus.folder)
    assert bad.exit_code == 2 and "not a trace id" in bad.stderr
    missing = cli("grep", "ab" * 16, corpus.folder / "nope.log")
    assert missing.exit_code == 2 and "nope.log" in missing.stderr


def test_span_and_level_filters(corpus, cli):
    trace_id = corpus.error_trace
    span = corpus.spans[trace_id]["inventory"]
    rows = cli.json("grep", trace_id, corpus.folder, "--span", span)
    assert [r["message"].split()[1] for r in rows] == ["step", "detail"]
    errors = cli.json("grep", trace_id, corpus.folder, "--level", "error")
    assert sorted(r["service"] for r in errors) == ["order", "payment"]
    warn = cli("grep", trace_id, corpus.folder, "--level", "warn")
    assert warn.exit_code == 1


def test_line_without_timestamp_keeps_its_place_and_says_so(corpus, cli):
    trace_id = next(iter(corpus.traces))
    every = cli.json("grep", trace_id, corpus.folder)
    rows = [r for r in every if r["service"] == "inventory"]
    assert len(rows) == 2 and rows[0]["timestamp"] and rows[1]["timestamp"] is None
    assert rows[1]["offset_ms"] is None and rows[1]["line"] == rows[0]["line"] + 1
    assert every.index(rows[1]) == every.index(rows[0]) + 1  # right after its neighbour
    text = cli("grep", trace_id, corpus.folder).stdout.splitlines()
    assert text[every.index(rows[1])].startswith("time unknown")


def test_broken_lines_are_counted_and_strict_fails(corpus, cli):
    trace_id = next(t for t in corpus.traces if t in corpus.broken_with_trace)
    result = cli("grep", trace_id, corpus.folder)
    assert result.exit_code == 0
    assert "1 broken line(s) skipped: " in result.stderr and "order.jsonl:" in result.stderr
    assert len(result.stdout.splitlines()) >= len(corpus.traces[trace_id])
    strict = cli("grep", trace_id, corpus.folder, "--strict")
    assert strict.exit_code == 2 and strict.stdout == result.stdout


def test_zone_less_timestamps_are_read_in_the_given_zone(corpus, cli):
    trace_id = next(iter(corpus.traces))
    utc = {r["service"]: r for r in cli.json("grep", trace_id, corpus.folder)}
    assert utc["customer"]["zone_assumed"] is True and utc["gateway"]["zone_assumed"] is False
    said = cli("grep", trace_id, corpus.folder, "--tz", "+02:00")
    assert "without a zone were read as +02:00" in said.stderr
    shifted = {r["service"]: r for r in
               cli.json("grep", trace_id, corpus.folder, "--tz", "+02:00")}
    assert shifted["customer"]["timestamp"][11:13] == "08"  # 10:00 at +02:00 is 08:00 UTC
    assert shifted["customer"]["timestamp"][14:] == utc["customer"]["timestamp"][14:]


def test_stdin_globs_and_text_output(corpus, cli):
    trace_id = corpus.error_trace
    piped = cli("grep", trace_id, "-", "--format", "json",
                input=(corpus.folder / "order.jsonl").read_bytes())
    assert piped.exit_code == 0 and len(piped.stdout.splitlines()) == 1
    assert '"stdin"' in piped.stdout or '"order"' in piped.stdout
    globbed = cli.json("grep", trace_id, str(corpus.folder / "*.log"))
    assert {r["service"] for r in globbed} == {"inventory", "payment", "shipping", "audit",
                                               "customer"}
    text = cli("grep", trace_id, corpus.folder, "--color", "always")
    assert text.exit_code == 0
    first = text.stdout.splitlines()[0]
    assert "\x1b[" in first and "+0.000ms" in first
    assert "RuntimeError: payment answered 500" in text.stdout
    plain = cli("grep", trace_id, corpus.folder)
    assert "\x1b[" not in plain.stdout


def test_ripgrep_and_python_scans_agree(corpus):
    assert ripgrep() is not None, "ripgrep missing: pip install 'ripgrep>=14,<15'"
    files = sorted(str(p) for p in corpus.folder.iterdir() if not p.name.endswith(".gz"))
    for trace_id in list(corpus.traces)[:3]:
        fast = TraceScan(trace_id).files(files)
        slow = [r for f in files for r in TraceScan(trace_id).stream(f)]
        key = lambda r: (r.file, r.line)  # noqa: E731
        assert [(r.file, r.line, r.ts_us, r.extra) for r in sorted(fast, key=key)] == \
               [(r.file, r.line, r.ts_us, r.extra) for r in sorted(slow, key=key)]


def test_api_returns_the_timeline(corpus):
    trace_id = corpus.clean_trace
    result = grep(trace_id, [str(corpus.folder)], use_index=False)
    assert len(result.timeline) == len(corpus.traces[trace_id])
    assert result.timeline.services[0] == "audit"


def test_grep_does_not_import_pandas_or_plotly(corpus):
    trace_id = next(iter(corpus.traces))
    loaded, status = modules_loaded("logcorr.cli", "grep", trace_id, corpus.folder)
    heavy = loaded & {"pandas", "plotly", "numpy", "jinja2", "rich"}
    assert (sorted(heavy), status) == ([], 0)


def test_folders_search_every_text_file_and_skip_binary_ones(corpus, logs, cli):
    trace_id = corpus.clean_trace
    (logs / "web.jsonl").rename(logs / "web.jsonl.1")  # RotatingFileHandler's backup name
    for name in ("syslog", "messages", "access_log", "catalina.out", "app.err", "current"):
        (logs / name).write_text(f"trace {trace_id} seen in {name}\n")
    (logs / "core.bin").write_bytes(b"\x7fELF\0\0" + trace_id.encode() + b"\0" * 64)
    rows = cli.json("grep", trace_id, logs)
    assert len(rows) == len(corpus.traces[trace_id]) + 6
    assert {Path(r["file"]).name for r in rows} >= {"syslog", "messages", "access_log",
                                                    "catalina.out", "app.err", "current"}
    assert not any(r["file"].endswith("core.bin") for r in rows)
    web = next(r for r in rows if r["service"] == "web")
    assert web["file"].endswith("web.jsonl.1")


@pytest.mark.parametrize(("env", "expected"), [
    ({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False), ({"NO_COLOR": ""}, True),
])
def test_no_color_and_dumb_terminals(monkeypatch, env, expected):
    from logcorr.grep_command import _color_ok

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _color_ok() is expected


def test_files_whose_ids_are_in_no_known_field_are_named_once(tmp_path, cli):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    (tmp_path / "app.log").write_text(f'{{"event": "a", "trace_id": "{trace_id}"}}\n')
    (tmp_path / "notes.txt").write_text(f"ticket for {int(trace_id[16:], 16)}\n")
    result = cli("grep", trace_id, tmp_path)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    notes = [line for line in result.stderr.splitlines() if "no trace-id field" in line]
    assert len(notes) == 1 and "notes.txt" in notes[0] and "app.log" not in notes[0]
