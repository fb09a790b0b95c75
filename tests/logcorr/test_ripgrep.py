"""The launcher's head start: ripgrep searching before logcorr's modules are imported gives
the same lines as a search started by the scan, and is stopped when it cannot be used; the
process it runs in, started without `subprocess`."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import logcorr.grep
from logcorr.grep import grep
from logcorr.paths import INDEX_NAME, expand_paths
from logcorr.ripgrep import Spawned, head_start


def _lines(result) -> list[tuple]:
    return [(r.file, r.line, r.ts_us, r.message, tuple(r.extra)) for r in result.timeline.records]


def test_a_head_start_searches_the_plain_files_and_gives_the_same_lines(logs: Path, corpus,
                                                                       monkeypatch):
    with gzip.open(logs / "old.log.gz", "wb") as f:  # read by Python, never by ripgrep
        f.write((logs / "order.jsonl").read_bytes())
    trace_id = corpus.clean_trace
    running = head_start(trace_id.upper(), [str(logs)])
    assert running is not None
    assert all(not p.endswith(".gz") for p in running.paths)
    assert len(running.paths) == len([p for p in logs.iterdir() if p.suffix != ".gz"])
    assert running.files == expand_paths([str(logs)])
    assert running.files_of([str(logs)]) is running.files
    assert running.files_of([str(logs / "order.jsonl")]) is None
    walks = []
    monkeypatch.setattr(logcorr.grep, "expand_paths", lambda *a: walks.append(a) or [])
    with_head_start = grep(trace_id, [str(logs)], running=running)
    assert walks == []  # the folder is walked once, by the head start
    assert running.proc.returncode == 0  # its output was read to the end, not thrown away
    monkeypatch.undo()
    alone = grep(trace_id, [str(logs)])
    assert _lines(with_head_start) == _lines(alone)
    assert any(r.file.endswith(".gz") for r in alone.timeline.records)


@pytest.mark.parametrize("form", ["hex32", "HEX32", "hex16"])
def test_a_head_start_imports_nothing_before_ripgrep_runs(logs: Path, corpus, form):
    # every module the launcher imports before ripgrep starts delays the search itself (`re`
    # and what it pulls in: 7 ms); an id pasted from a trace viewer needs none
    tid = corpus.clean_trace
    query = {"hex32": tid, "HEX32": tid.upper(), "hex16": tid[-16:]}[form]
    code = ("import sys; before = set(sys.modules)\n"
            "from logcorr.ripgrep import head_start\n"
            f"running = head_start({query!r}, [{str(logs)!r}])\n"
            "new = sorted(set(sys.modules) - before); running.stop()\n"
            "import json; print(json.dumps(new))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert set(json.loads(out.stdout)) <= {"__future__", "logcorr", "logcorr.ids",
                                           "logcorr.paths", "logcorr.ripgrep"}


def test_a_scan_without_an_index_imports_no_database(logs: Path, corpus):
    # sqlite3 and the index module cost ~3 ms of a ~75 ms scan, spent while ripgrep searches
    code = ("import sys\nfrom logcorr.grep import grep\n"
            f"found = grep({corpus.clean_trace!r}, [{str(logs)!r}]).timeline.records\n"
            "print(len(found), 'sqlite3' in sys.modules, 'logcorr.index' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split()[1:] == ["False", "False"] and int(out.stdout.split()[0]) > 0


def test_no_head_start_beside_an_index_or_for_a_bad_id(logs: Path, corpus):
    assert head_start("not-an-id", [str(logs)]) is None
    assert head_start(corpus.clean_trace, [str(logs / "missing")]) is None
    (logs / INDEX_NAME).write_bytes(b"")  # an index: the grep reads it first
    assert head_start(corpus.clean_trace, [str(logs)]) is None


def test_a_head_start_on_other_files_is_stopped_and_not_used(logs: Path, corpus):
    trace_id = corpus.clean_trace
    running = head_start(trace_id, [str(logs)])
    assert running is not None
    one = str(sorted(logs.iterdir())[0])
    result = grep(trace_id, [one], running=running, use_index=False)
    assert running.proc.returncode is not None and running.proc.stdout.closed
    assert {r.file for r in result.timeline.records} <= {one}
    assert running.take(trace_id, running.paths) is None  # stopped once: never used again


def test_a_spawned_process_pipes_both_streams_and_reports_its_status():
    with Spawned(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]) as proc:
        assert proc.stdout.read() == b"out\n"
        assert proc.stderr.read() == b"err\n"
    assert proc.returncode == 3
    sleeper = Spawned(["/bin/sleep", "30"])
    assert sleeper.poll() is None
    sleeper.kill()
    sleeper.close()
    assert sleeper.returncode == -9  # as Popen reports a signal


def test_a_binary_that_cannot_start_leaves_no_pipe_open(tmp_path: Path):
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError):
        Spawned([str(tmp_path / "no-such-rg")])
    assert len(os.listdir("/proc/self/fd")) == before
