"""`logcorr report --trace-source`: the waterfall's spans from Jaeger, Tempo or any trace file."""

from __future__ import annotations

import orjson
import pytest

from tests.logcorr.test_report import _check, make_spans
from tests.traceaudit.sources._replay import Replay, jaeger_route, tempo_route
from traceaudit.sources._export import to_otlp


@pytest.mark.parametrize("backend", ["jaeger", "tempo"])
def test_report_from_jaeger_and_tempo(corpus, cli, tmp_path, backend):
    trace_id = corpus.error_trace
    spans = make_spans(corpus, trace_id)
    route = jaeger_route([spans]) if backend == "jaeger" else \
        tempo_route([spans], tenant="ops")
    out = tmp_path / "report.html"
    with Replay(route) as server:
        result = cli("report", trace_id, corpus.folder, "--trace-source",
                     f"{backend}+{server.url}", "--header", "X-Scope-OrgID: ops", "-o", out)
        assert result.exit_code == 0, result.output
        _check(out.read_text(), corpus, trace_id)
        unknown = next(t for t in corpus.traces if t != trace_id)  # logs, but no spans
        missing = cli("report", unknown, corpus.folder, "--trace-source",
                      f"{backend}+{server.url}", "--header", "X-Scope-OrgID: ops", "-o", out)
    assert missing.exit_code == 2 and f"no spans of trace {unknown}" in missing.stderr


def test_report_from_an_otlp_file_and_a_dead_backend(corpus, cli, tmp_path):
    trace_id = corpus.error_trace
    path = tmp_path / "spans.jsonl"
    path.write_bytes(orjson.dumps(to_otlp([make_spans(corpus, trace_id)])) + b"\n")
    out = tmp_path / "report.html"
    result = cli("report", trace_id, corpus.folder, "--trace-source", path, "-o", out)
    assert result.exit_code == 0, result.output
    _check(out.read_text(), corpus, trace_id)
    down = cli("report", trace_id, corpus.folder, "--trace-source", "tempo+http://127.0.0.1:9")
    assert down.exit_code == 2 and len(down.stderr.strip().splitlines()) == 1
    assert "http://127.0.0.1:9/api/v2/traces/" in down.stderr and "refused" in down.stderr
