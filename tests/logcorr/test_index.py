"""`logcorr index`: postings that give the same answer as a scan, freshness, incremental updates."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from logcorr import scan
from logcorr.grep import grep
from logcorr.index import Index
from logcorr.paths import INDEX_NAME


def _lines(result):
    return [(r.file, r.line, r.message) for r in result.timeline.records]


def test_indexed_grep_equals_the_scan(corpus, logs, cli):
    built = cli("index", logs)
    assert built.exit_code == 0, built.output
    assert (logs / INDEX_NAME).is_file()
    assert "10 file(s)" in built.stderr  # the .gz one too (its seek points are kept)
    for trace_id in list(corpus.traces)[:5]:
        indexed = grep(trace_id, [str(logs)])
        scanned = grep(trace_id, [str(logs)], use_index=False)
        assert _lines(indexed) == _lines(scanned)
        assert len(indexed.indexed) == 10  # every file answered by the index, .gz too
        assert [r.extra for r in indexed.timeline.records] == \
               [r.extra for r in scanned.timeline.records]
        assert indexed.broken.count == scanned.broken.count
    # 16-hex queries use the same postings
    trace_id = next(iter(corpus.traces))
    assert _lines(grep(trace_id[16:], [str(logs)])) == _lines(grep(trace_id, [str(logs)]))


def test_index_is_what_grep_reads(corpus, logs, cli):
    """Drop a posting: the indexed grep no longer sees that line, so it really used the index."""
    trace_id = next(iter(corpus.traces))
    cli("index", logs)
    db = Index(str(logs / INDEX_NAME))
    file_id = db.db.execute("SELECT id FROM files WHERE path LIKE '%gateway.jsonl'").fetchone()[0]
    db.db.execute("DELETE FROM postings WHERE file=?", (file_id,))
    db.db.commit()
    db.close()
    services = {r.service for r in grep(trace_id, [str(logs)]).timeline.records}
    assert "gateway" not in services and "order" in services
    assert "gateway" in {r.service for r in
                         grep(trace_id, [str(logs)], use_index=False).timeline.records}


def _append(path, trace_id, message, ts="2026-11-25T10:00:09.000000Z"):
    with open(path, "a") as f:
        f.write(json.dumps({"timestamp": ts, "level": "info", "service": "gateway",
                            "event": message, "trace_id": trace_id,
                            "span_id": "00000000000000aa"}) + "\n")


def test_appended_lines_are_found_and_indexed_incrementally(corpus, logs, cli):
    trace_id = next(iter(corpus.traces))
    cli("index", logs)
    gateway = logs / "gateway.jsonl"
    before = gateway.stat().st_size
    _append(gateway, trace_id, "appended after indexing")
    # stale for the tail: the index answers the head, a scan of the tail does the rest
    rows = cli.json("grep", trace_id, logs)
    assert rows[-1]["message"] == "appended after indexing"
    assert rows[-1]["line"] == len(gateway.read_text().splitlines())
    again = cli("index", logs)
    appended = gateway.stat().st_size - before
    assert "indexed 1 file(s)" in again.stderr
    assert f"{appended / 1e6:.1f} MB" in again.stderr
    db = Index(str(logs / INDEX_NAME))
    cov = db.coverage(str(gateway))
    assert cov.state == "fresh" and cov.indexed_bytes == gateway.stat().st_size
    db.close()
    rows = cli.json("grep", trace_id, logs)
    assert rows[-1]["message"] == "appended after indexing"
    assert cli("index", logs).stderr.count("indexed 0 file(s)") == 1


def test_rotated_file_is_reindexed_not_misread(corpus, logs, cli):
    trace_id, other = list(corpus.traces)[:2]
    cli("index", logs)
    gateway = logs / "gateway.jsonl"
    gateway.write_text("")  # rotated: a new, shorter file with another content
    _append(gateway, other, "after rotation")
    db = Index(str(logs / INDEX_NAME))
    assert db.coverage(str(gateway)).state == "missing"
    db.close()
    assert "gateway" not in {r["service"] for r in cli.json("grep", trace_id, logs)}
    assert cli.json("grep", other, logs)[-1]["message"] == "after rotation"
    cli("index", logs)
    assert cli.json("grep", other, logs)[-1]["message"] == "after rotation"


def test_same_size_rewrite_is_stale(corpus, logs, cli):
    cli("index", logs)
    path = logs / "web.jsonl"
    data = path.read_bytes()
    path.write_bytes(data)  # same bytes, new mtime: cannot be trusted as unchanged
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    db = Index(str(logs / INDEX_NAME))
    assert db.coverage(str(path)).state == "missing"
    db.close()


def test_broken_lines_are_indexed_by_their_id_tokens(corpus, logs, cli):
    """The index does not parse lines: a truncated line is posted under the ids in its bytes,
    and grep, which parses what it finds, reports it as a scan does."""
    assert cli("index", logs, "--strict").exit_code == 0
    trace_id = next(t for t in corpus.traces if t in corpus.broken_with_trace)
    indexed = grep(trace_id, [str(logs)])
    assert indexed.broken.count == 1 and "order.jsonl:" in indexed.broken.places[0]
    assert [r.parsed for r in indexed.timeline.records].count(False) == 1


def test_lookup_takes_each_files_format_from_the_index(corpus, logs, cli, monkeypatch):
    """No file's head is read again to learn its format, until the file grows past what was
    sampled (a sniff would then see more lines)."""
    cli("index", logs)
    trace_id = next(iter(corpus.traces))
    scanned = _lines(grep(trace_id, [str(logs)], use_index=False))
    sniffed: list[str] = []
    real = scan.sniff
    monkeypatch.setattr(scan, "sniff", lambda path, zone: sniffed.append(path) or real(path, zone))
    assert _lines(grep(trace_id, [str(logs)])) == scanned
    assert sniffed == []
    _append(logs / "gateway.jsonl", trace_id, "appended")  # a small file: all of it was sampled
    assert grep(trace_id, [str(logs)]).timeline.records[-1].message == "appended"
    assert [Path(p).name for p in sniffed] == ["gateway.jsonl"]


def test_an_index_without_formats_still_answers_and_gets_them(corpus, logs, cli):
    cli("index", logs)
    db = sqlite3.connect(logs / INDEX_NAME)
    db.execute("ALTER TABLE files DROP COLUMN format")  # as written before formats were kept
    db.execute("ALTER TABLE files DROP COLUMN sampled")
    db.commit()
    db.close()
    trace_id = next(iter(corpus.traces))
    assert _lines(grep(trace_id, [str(logs)])) == \
           _lines(grep(trace_id, [str(logs)], use_index=False))
    _append(logs / "web.jsonl", trace_id, "appended")  # a file to index again
    assert cli("index", logs).exit_code == 0
    idx = Index.open_existing(str(logs / INDEX_NAME))
    assert idx.coverage(str(logs / "web.jsonl")).format is not None
    idx.close()


def test_an_index_of_the_older_schema_is_ignored_then_rebuilt(corpus, logs, cli):
    """Version 1 posted parsed trace ids only: grep scans instead of trusting it, and
    `logcorr index` rebuilds it."""
    trace_id = corpus.clean_trace
    db = sqlite3.connect(logs / INDEX_NAME)
    db.executescript("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                     "INSERT INTO meta VALUES('version', '1');"
                     "CREATE TABLE files(id INTEGER PRIMARY KEY, path TEXT);"
                     "CREATE TABLE postings(trace INTEGER, file INTEGER, places BLOB);")
    db.close()
    old = grep(trace_id, [str(logs)])
    assert old.indexed == [] and len(old.timeline) == len(corpus.traces[trace_id])
    assert cli("index", logs).exit_code == 0
    rebuilt = grep(trace_id, [str(logs)])
    assert len(rebuilt.indexed) == 10 and _lines(rebuilt) == _lines(old)
