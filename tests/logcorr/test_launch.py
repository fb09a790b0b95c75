"""The `logcorr` console script: `grep TRACE_ID [PATHS]` runs without click and prints exactly
what the click CLI prints; everything else goes to click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from logcorr._launch import _is_plain_grep
from logcorr.paths import INDEX_NAME
from tests.logcorr._modules import modules_loaded

FAST = "from logcorr._launch import main; main()"
CLICK = "from logcorr.cli import main; main()"


def _run(entry: str, *args: object, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", entry, *map(str, args)], capture_output=True,
                          timeout=60, cwd=cwd)


def _same(*args: object, cwd=None) -> subprocess.CompletedProcess:
    """Run both entries; assert equal stdout bytes, stderr and exit status."""
    fast, slow = _run(FAST, *args, cwd=cwd), _run(CLICK, *args, cwd=cwd)
    assert (fast.returncode, fast.stdout, fast.stderr) == \
           (slow.returncode, slow.stdout, slow.stderr)
    return fast


def test_the_console_script_is_the_launcher():
    (script,) = entry_points(group="console_scripts", name="logcorr")
    assert script.value == "logcorr._launch:main"


@pytest.mark.parametrize(("args", "plain"), [
    (["grep", "ab" * 16], True),
    (["grep", "ab" * 16, "var/log", "x.jsonl"], True),
    (["grep", "ab" * 16, "--format", "json"], False),
    (["grep", "ab" * 16, "-"], False),  # stdin
    (["grep", "--help"], False),
    (["grep"], False),
    (["traces", "var/log"], False),
    (["--version"], False),
    ([], False),
])
def test_which_command_lines_skip_click(args, plain):
    assert _is_plain_grep(args) is plain


def test_shell_completion_goes_to_click(monkeypatch):
    monkeypatch.setenv("_LOGCORR_COMPLETE", "bash_complete")
    assert not _is_plain_grep(["grep", "ab" * 16])


def test_same_output_and_status_without_index(corpus):
    folder = corpus.folder
    found = _same("grep", next(iter(corpus.traces)), folder)
    assert found.returncode == 0 and found.stdout
    assert b"read as UTC (--tz)" in found.stderr  # zone-less customer lines: said on stderr
    broken = next(t for t in corpus.traces if t in corpus.broken_with_trace)
    assert b"broken line(s) skipped" in _same("grep", broken, folder).stderr
    assert _same("grep", next(iter(corpus.traces))[16:], folder).returncode == 0  # 16 hex
    assert _same("grep", corpus.error_trace, folder / "order.jsonl", folder / "web.jsonl",
                 folder / "*.log").returncode == 0
    nothing = _same("grep", "ab" * 16, folder)
    assert (nothing.returncode, nothing.stdout) == (1, b"")
    assert _same("grep", "not-hex", folder).returncode == 2
    assert _same("grep", "0" * 32, folder).returncode == 2
    assert _same("grep", "ab" * 16, folder / "nope.log").returncode == 2


def test_default_paths_are_var_log(corpus, tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "log").symlink_to(corpus.folder)
    assert _same("grep", corpus.error_trace, cwd=tmp_path).returncode == 0
    assert _same("grep", corpus.error_trace, cwd=corpus.folder).returncode == 2  # no var/log


def test_same_output_and_status_with_fresh_and_appended_index(corpus, logs, cli):
    assert cli("index", logs).exit_code == 0 and (logs / INDEX_NAME).is_file()
    trace_id = next(iter(corpus.traces))
    fresh = _same("grep", trace_id, logs)
    assert fresh.returncode == 0
    assert _same("grep", "ab" * 16, logs).returncode == 1
    with open(logs / "gateway.jsonl", "a") as f:
        f.write(json.dumps({"timestamp": "2026-11-25T10:00:09Z", "level": "info",
                            "service": "gateway", "event": "appended", "trace_id": trace_id,
                            "span_id": "00000000000000aa"}) + "\n")
    appended = _same("grep", trace_id, logs)
    assert appended.stdout.startswith(fresh.stdout) and b"appended" in appended.stdout


def test_a_closed_pipe_ends_quietly_like_click(corpus):
    for entry in (FAST, CLICK):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run([sys.executable, "-c", entry, "grep", corpus.error_trace,
                                   str(corpus.folder)], stdout=write, stderr=subprocess.PIPE,
                                  timeout=60)
        finally:
            os.close(write)
        assert (done.returncode, done.stderr) == (1, b""), entry


def test_other_command_lines_reach_click(corpus):
    assert b"Usage: " in _run(FAST, "grep", "--help").stdout
    assert _run(FAST, "traces", corpus.folder).returncode == 0
    json_rows = _same("grep", corpus.error_trace, corpus.folder, "--format", "json")
    assert json_rows.stdout.startswith(b"{")


def test_indexed_fast_path_imports_no_click_and_no_heavy_module(corpus, logs, cli):
    """Whole-process speed: an indexed grep loads neither click nor the report/analysis stack
    nor orjson and dataclasses (~25 and ~12 ms of imports), runs no ripgrep, and the
    interpreter starts without an editable-install import hook."""
    plain = [f for f in os.listdir(logs) if not f.endswith(".gz")]
    for name in set(os.listdir(logs)) - set(plain):
        os.remove(logs / name)  # a .gz file cannot be indexed: it would be scanned
    assert cli("index", logs).exit_code == 0
    loaded, status = modules_loaded("logcorr._launch", "grep", corpus.error_trace, logs)
    unwanted = {"click", "pandas", "numpy", "plotly", "rich", "jinja2", "subprocess", "orjson",
                "dataclasses", "inspect"}
    hooks = {m for m in loaded if m.startswith("__editable__")}
    assert (sorted(loaded & unwanted | hooks), status) == ([], 0)
