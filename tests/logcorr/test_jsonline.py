"""Log-line JSON: both decoders accept the same lines, output stays JSON, NaN lines are records."""

from __future__ import annotations

import json

import orjson
import pytest
import structlog

from logcorr import jsonline

# orjson and Python's json disagree on each of the first six; the rest are plain cases
EDGES = [b'{"a":NaN}', b'{"a":-Infinity}', b'{"a":1e400}', b'{"a":"\\ud800"}',
         b'{"a":"\xed\xa0\x80"}', b"[" * 5000 + b"]" * 5000, b'{"a":"\xff"}', b'{"a":"\x01"}',
         b'{"a":1}\x00', b'{"a":1,"a":2}', b'{"a":"\\u00e9\\ud83d\\ude00"}', b'{"a":', b"[1, 2]"]


def _outcome(loads, raw: bytes) -> object:
    try:
        value = loads(raw)
    except ValueError:
        return "rejected"
    return json.dumps(value)  # NaN != NaN: compare the text


@pytest.mark.parametrize("raw", EDGES)
def test_bulk_decoder_accepts_and_reads_what_the_default_one_does(raw):
    assert _outcome(jsonline.bulk_loads(), raw) == _outcome(jsonline.loads, raw)


def test_python_loggers_non_finite_floats_are_read():
    line = structlog.processors.JSONRenderer()(None, "", {"event": "x", "ratio": float("nan")})
    assert "NaN" in line
    assert str(jsonline.loads(line.encode())["ratio"]) == "nan"
    with pytest.raises(ValueError):
        jsonline.loads(b"[" * 5000)
    with pytest.raises(ValueError, match="too deeply"):
        jsonline.loads(b"[" * 5000 + b"]" * 5000)


def test_dumps_is_compact_utf8_json_with_null_for_non_finite():
    value = {"msg": "café ☕", "n": [1, 2.5, float("nan"), {"x": float("-inf")}], "t": (1, 2)}
    text = jsonline.dumps(value)
    assert text == '{"msg":"café ☕","n":[1,2.5,null,{"x":null}],"t":[1,2]}'
    assert orjson.loads(text) == orjson.loads(orjson.dumps(value))  # what orjson would write
    assert jsonline.dumps({"when": object}) == '{"when":"<class \'object\'>"}'  # default=str


def test_a_line_with_nan_is_a_record_for_grep_index_and_traces(tmp_path, cli):
    tid = "4bf92f3577b34da6a3ce929d0e0e4736"
    log = tmp_path / "svc.jsonl"
    log.write_text(
        json.dumps({"timestamp": "2026-11-25T10:00:00.000001Z", "event": "before",
                    "trace_id": tid}) + "\n"
        + json.dumps({"timestamp": "2026-11-25T10:00:00.000002Z", "event": "ratio",
                      "trace_id": tid, "ratio": float("nan"), "peak": float("inf")}) + "\n")
    unindexed = cli.json("grep", tid, log)  # parses the output with orjson: strict JSON
    assert [r["message"] for r in unindexed] == ["before", "ratio"]
    assert unindexed[1]["fields"] == {"ratio": None, "peak": None}
    assert cli("index", log).exit_code == 0
    assert cli.json("grep", tid, log) == unindexed
    rows = cli.json("traces", log)
    assert [(r["trace_id"], r["lines"]) for r in rows] == [(tid, 2)]
    assert "broken" not in cli("traces", log).output
