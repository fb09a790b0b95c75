"""`traceaudit` commands read Jaeger, Tempo and trace files through --source/--url/--header."""

from __future__ import annotations

import gzip

import orjson
import pytest
from click.testing import CliRunner

from tests.traceaudit.sources._contract import generated, window_of
from tests.traceaudit.sources._replay import Replay, jaeger_route, spelled_like_otel, tempo_route
from traceaudit.cli import main
from traceaudit.sources._export import to_otlp


@pytest.fixture(scope="module")
def traces():
    return generated(30, slow={"payment": 6_000})


def _window_args(traces) -> list[str]:
    w = window_of(traces)
    return ["--since", w.start.isoformat(), "--until", w.end.isoformat()]


def _orders(*args, env=None):
    return CliRunner().invoke(main, ["orders", "--format", "json", "--no-html", *args],
                              env=env)


def _hops(result) -> dict:
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    return {h["hop"]: h["calls"] for h in doc["hops"]} | {"traces": doc["traces"]}


def test_orders_from_jaeger_tempo_and_a_file_agree(traces, tmp_path):
    want = {"payment": 30, "product": 30, "customer": 30, "postgresql": 30, "rabbitmq": 30,
            "traces": 30}
    with Replay(jaeger_route(spelled_like_otel(traces))) as server:
        assert _hops(_orders("--url", f"jaeger+{server.url}", *_window_args(traces))) == want
    with Replay(tempo_route(spelled_like_otel(traces), tenant="t1")) as server:
        result = _orders("--source", "tempo", "--url", server.url, "--header",
                         "X-Scope-OrgID: t1", *_window_args(traces))
        assert _hops(result) == want
        assert orjson.loads(result.stdout)["window"]["source"] == "tempo"
    otlp = tmp_path / "traces.jsonl.gz"
    otlp.write_bytes(gzip.compress(orjson.dumps(to_otlp(traces))))
    assert _hops(_orders("--from-file", str(otlp))) == want
    assert _hops(_orders("--source", "file", "--url", str(otlp))) == want


def test_traceaudit_url_is_the_default_and_zipkin_still_wins_when_given(traces):
    with Replay(jaeger_route(traces)) as server:
        env = {"TRACEAUDIT_URL": f"jaeger+{server.url}"}
        assert _hops(_orders(*_window_args(traces), env=env))["traces"] == 30
        result = _orders("--zipkin", "http://127.0.0.1:9", *_window_args(traces), env=env)
    assert result.exit_code == 2
    assert "http://127.0.0.1:9/api/v2/traces: connection refused" in result.stderr


@pytest.mark.parametrize("fault, reason", [("status", "HTTP 500"), ("garbage", "not JSON")])
def test_backend_failures_exit_2_with_one_line_and_no_secret(traces, fault, reason):
    with Replay(tempo_route(traces)) as server:
        server.fault("/api/search", fault, 500, times=10)
        result = CliRunner().invoke(main, [
            "orders", "--url", f"tempo+{server.url}", "--no-html",
            "--header", "Authorization: Bearer s3cr3t", *_window_args(traces)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"traceaudit: error: {server.url}/api/search: ") and reason in line
    assert "s3cr3t" not in result.output + result.stderr


def test_bad_source_arguments_are_one_line():
    result = CliRunner().invoke(main, ["orders", "--url", "honeycomb+http://x", "--no-html"])
    assert result.exit_code == 2 and "unknown trace source 'honeycomb'" in result.stderr
    result = CliRunner().invoke(main, ["orders", "--url", "tempo+http://x", "--no-html",
                                       "--header", "Authorization Bearer s3cr3t"])
    assert result.exit_code == 2 and "expected 'Name: value'" in result.stderr
    assert "s3cr3t" not in result.stderr


def test_fetch_saves_jaeger_traces_as_zipkin_json(traces, tmp_path):
    out = tmp_path / "saved.json"
    with Replay(jaeger_route(traces, api="v1")) as server:
        result = CliRunner().invoke(main, ["fetch", "--url", f"jaeger+{server.url}", "-o",
                                           str(out), *_window_args(traces)])
    assert result.exit_code == 0, result.output
    saved = orjson.loads(out.read_bytes())
    assert len(saved) == 30 and {s["traceId"] for t in saved for s in t} == \
        {t[0]["traceId"] for t in traces}


def test_endpoints_and_diff_read_tempo(traces):
    later = generated(30, seed=2, start_us=max(s["timestamp"] for t in traces for s in t)
                      + 120_000_000)
    with Replay(tempo_route(traces + later)) as server:
        result = CliRunner().invoke(main, ["endpoints", "--url", f"tempo+{server.url}",
                                           "--format", "json", *_window_args(traces + later)])
        assert result.exit_code == 0, result.output
        rows = {(r["service"], r["span"]): r["traces"] for r in orjson.loads(result.stdout)}
        assert rows == {("gateway", "post /api/v1/orders"): 60}
        first, second = window_of(traces), window_of(later)
        result = CliRunner().invoke(main, [
            "diff", "--url", f"tempo+{server.url}", "--format", "json",
            "--baseline", f"{first.start.isoformat()}..{first.end.isoformat()}",
            "--current", f"{second.start.isoformat()}..{second.end.isoformat()}"])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert (doc["baseline"]["traces"], doc["current"]["traces"]) == (30, 30)


def test_an_answer_larger_than_the_bound_is_refused(traces):
    from traceaudit.sources import SourceError
    from traceaudit.sources._http import Http

    with Replay(tempo_route(traces)) as server, pytest.raises(SourceError) as err:
        Http(server.url, max_bytes=1000).get_json(f"api/v2/traces/{traces[0][0]['traceId']}")
    assert str(err.value).startswith(f"{server.url}/api/v2/traces/") and "larger than" in \
        str(err.value)
