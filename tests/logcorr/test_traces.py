"""`logcorr traces`: one row per trace, with filters."""

from __future__ import annotations

from logcorr.traces import parse_since


def test_one_row_per_trace(corpus, cli):
    rows = cli.json("traces", corpus.folder)
    assert {r["trace_id"] for r in rows} == set(corpus.traces)  # 16-hex lines folded in
    by_id = {r["trace_id"]: r for r in rows}
    for trace_id, events in corpus.traces.items():
        row = by_id[trace_id]
        assert row["lines"] == len(events)
        assert len(row["services"]) == 10
        assert row["errors"] == sum(e.level == "error" for e in events)
        first = min(e.logged_us for e in events)
        last = max(e.logged_us for e in events)
        assert row["duration_ms"] == round((last - first) / 1000, 3)
    firsts = [r["first"] for r in rows]
    assert firsts == sorted(firsts, reverse=True)  # newest first


def test_filters(corpus, cli):
    errors = cli.json("traces", corpus.folder, "--errors")
    assert {r["trace_id"] for r in errors} == {
        t for t, evs in corpus.traces.items() if any(e.level == "error" for e in evs)}
    assert cli.json("traces", corpus.folder / "payment.log", "--service", "payment")
    none = cli("traces", corpus.folder / "payment.log", "--service", "gateway")
    assert none.exit_code == 1
    late = cli.json("traces", corpus.folder, "--since", "2026-11-25T10:00:02.5Z")
    assert 0 < len(late) < len(corpus.traces)
    assert all(r["last"] >= "2026-11-25T10:00:02.5" for r in late)
    assert cli("traces", corpus.folder, "--since", "yesterday-ish").exit_code == 2


def test_text_table_and_broken_count(corpus, cli):
    result = cli("traces", corpus.folder)
    assert result.exit_code == 0
    trace_id = corpus.error_trace
    row = next(line for line in result.stdout.splitlines() if trace_id in line)
    assert "audit,customer,gateway" in row
    assert f"{corpus.broken} broken line(s) skipped" in result.stderr


def test_since_ages():
    assert parse_since("10m", now=1_000.0) == 400_000_000
    assert parse_since("2026-11-25T10:00:00Z") == 1_795_600_800_000_000


def test_a_second_run_reads_the_summaries_the_index_kept(corpus, logs, cli, monkeypatch):
    from logcorr import traces

    plain = cli("traces", logs, "--format", "json")
    assert cli("index", logs).exit_code == 0
    first = cli("traces", logs, "--format", "json")  # reads the files, keeps the summaries
    read: list[str] = []
    real = traces.read_records
    monkeypatch.setattr(traces, "read_records",
                        lambda path, *a, **k: read.append(path) or real(path, *a, **k))
    second = cli("traces", logs, "--format", "json")
    assert read == []  # no log line read again
    assert plain.stdout == first.stdout == second.stdout
    assert second.stderr == plain.stderr  # the broken lines are still reported
    with open(logs / "gateway.jsonl", "a") as f:  # appended: that file is read again
        f.write('{"timestamp": "2026-11-25T11:00:00Z", "event": "late", "trace_id": "'
                + "ab" * 16 + '"}\n')
    third = cli.json("traces", logs)
    assert read == [str(logs / "gateway.jsonl")] and third[0]["trace_id"] == "ab" * 16
