"""`logcorr report`: the span waterfall with each span's log lines under it (real collector too)."""

from __future__ import annotations

import json
import re

import httpx

from tests.logcorr.corpus import SERVICES

PARENT = {"web": None, "gateway": "web", "order": "gateway", "notification": "order"}


def make_spans(corpus, trace_id: str) -> list[dict]:
    """One Zipkin v2 span per service, nested under order, covering its log lines."""
    events = {e.service: e for e in corpus.traces[trace_id]}
    spans = []
    for service in SERVICES:
        ev = events[service]
        span = {"traceId": trace_id, "id": corpus.spans[trace_id][service],
                "name": f"{service} work", "kind": "SERVER", "timestamp": ev.true_us - 500,
                "duration": 2_000 if service != "web" else 60_000,
                "localEndpoint": {"serviceName": service}}
        parent = PARENT.get(service, "order")
        if parent:
            span["parentId"] = corpus.spans[trace_id][parent]
        if ev.level == "error":
            span["tags"] = {"error": "boom", "http.status_code": "500"}
        spans.append(span)
    return spans


def _sections(html: str) -> dict[str, str]:
    """span id → the HTML of its row and the log list under it."""
    parts = re.split(r'(?=<tr class="span)', html)
    out = {}
    for part in parts[1:]:
        span_id = re.search(r'data-span="([0-9a-f]+)"', part).group(1)
        out[span_id] = part
    return out


def _check(html: str, corpus, trace_id: str) -> None:
    sections = _sections(html)
    assert set(sections) == set(corpus.spans[trace_id].values())
    for event in corpus.traces[trace_id]:
        span_id = corpus.spans[trace_id][event.service]
        section = sections[span_id]
        assert f"{event.service} work" in section
        assert event.message in section, (event.service, event.message)
        assert section.count('<li class="log') == sum(
            e.service == event.service for e in corpus.traces[trace_id])
        if event.level == "error":
            assert 'class="span error"' in section and 'class="log error"' in section
    assert "RuntimeError: payment answered 500" in sections[corpus.spans[trace_id]["order"]]
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_report_from_a_spans_file(corpus, cli, tmp_path):
    trace_id = corpus.error_trace
    spans_file = tmp_path / "trace.json"
    spans_file.write_text(json.dumps(make_spans(corpus, trace_id)))
    out = tmp_path / "report.html"
    result = cli("report", trace_id, corpus.folder, "--spans", spans_file, "-o", out)
    assert result.exit_code == 0, result.output
    assert "10 span(s), 11 log line(s)" in result.stderr
    _check(out.read_text(), corpus, trace_id)


def test_report_from_the_collector(corpus, cli, tmp_path, collector):
    trace_id = corpus.error_trace
    resp = httpx.post(f"{collector}/api/v2/spans", json=make_spans(corpus, trace_id), timeout=10)
    assert resp.status_code == 202, resp.text
    out = tmp_path / "report.html"
    result = cli("report", trace_id, corpus.folder, "--zipkin", collector, "-o", out)
    assert result.exit_code == 0, result.output
    _check(out.read_text(), corpus, trace_id)
    unknown = next(t for t in corpus.traces if t != trace_id)  # logs, but no spans stored
    missing = cli("report", unknown, corpus.folder, "--zipkin", collector, "-o", out)
    assert missing.exit_code == 2 and unknown in missing.stderr


def test_report_errors_are_one_line(corpus, cli, tmp_path):
    trace_id = corpus.error_trace
    down = cli("report", trace_id, corpus.folder, "--zipkin", "http://127.0.0.1:9")
    assert down.exit_code == 2 and "127.0.0.1:9" in down.stderr and "refused" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    other = tmp_path / "other.json"
    other.write_text(json.dumps(make_spans(corpus, next(iter(corpus.traces)))))
    missing = cli("report", trace_id, corpus.folder, "--spans", other)
    assert missing.exit_code == 2 and "no spans of trace" in missing.stderr
    assert cli("report", trace_id, corpus.folder).exit_code == 2


def test_grep_html_is_the_timeline(corpus, cli):
    trace_id = corpus.error_trace
    result = cli("grep", trace_id, corpus.folder, "--format", "html")
    assert result.exit_code == 0
    html = result.stdout
    positions = [html.index(e.message) for e in corpus.expected(trace_id)]
    assert positions == sorted(positions)
    assert html.count('<li class="log error"') == 2
