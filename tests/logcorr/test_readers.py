"""Paths, files and records: folders, globs, gz, broken lines, tracebacks."""

from __future__ import annotations

import gzip

import pytest

from logcorr.paths import expand_paths
from logcorr.readers import Broken, read_records, service_of


def test_expand_paths(corpus):
    folder = str(corpus.folder)
    files = expand_paths([folder])
    assert len(files) == 10 and files == sorted(files)
    assert expand_paths([folder, folder + "/order.jsonl", folder + "//order.jsonl"]) == files
    assert expand_paths([folder + "/*.jsonl", "-"])[-1] == "-"
    with pytest.raises(FileNotFoundError, match="no files match"):
        expand_paths([folder + "/*.nothing"])
    with pytest.raises(FileNotFoundError, match="No such file"):
        expand_paths([folder + "/missing.log"])
    errors: list[str] = []  # given a list, a missing path is named there and the rest kept
    assert expand_paths([folder + "/missing.log", folder], errors) == files
    assert errors == [folder + "/missing.log: No such file or directory"]


@pytest.mark.parametrize(("name", "service"), [
    ("order.jsonl", "order"), ("order.jsonl.1", "order"), ("customer.json.log", "customer"),
    ("app.log.2026-11-25.gz", "app"), ("product.jsonl.gz", "product"), ("-", "stdin"),
])
def test_service_of(name, service):
    assert service_of(name) == service


def test_read_records_keeps_tracebacks_and_counts_broken(tmp_path):
    path = tmp_path / "svc.jsonl.gz"
    lines = [
        '{"timestamp": "2026-11-25T10:00:00Z", "event": "a", "trace_id": "' + "1" * 32 + '"}',
        '{"event": "no time", "trace_id": "' + "1" * 32 + '"}',
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in f',
        "KeyError: 'x'",
        '{"timestamp": "2026-11-25T10:00:01Z", "event": "cut", "trace',
        "",
        '{"timestamp": "2026-11-25T10:00:02Z", "event": "b"}',
    ]
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    broken = Broken()
    records = list(read_records(str(path), broken))
    assert [r.message for r in records] == ["a", "no time", "b"]
    assert records[1].ts_us is None  # time unknown, sorted where its predecessor is
    assert records[1].sort_us == records[0].ts_us
    assert records[1].extra[-1] == "KeyError: 'x'" and records[1].error
    assert records[2].trace_id is None and records[2].service == "svc"
    assert (broken.count, broken.places) == (1, [f"{path}:6"])
