"""SQLite storage: idempotent ingest, all-or-nothing batches, retention, restart survival."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from services.collector.spans import normalise
from services.collector.store import Retention, SpanStore


def spans_of(trace: int, count: int, ts: int = 1_000_000, service: str = "svc") -> list[dict]:
    return [
        normalise(
            {
                "traceId": f"{trace:016x}",
                "id": f"{trace * 1000 + i + 1:016x}",
                "parentId": f"{trace * 1000 + 1:016x}" if i else None,
                "name": f"op{i}",
                "timestamp": ts + i,
                "localEndpoint": {"serviceName": service},
                "remoteEndpoint": {"serviceName": f"peer{trace}"},
            }
        )
        for i in range(count)
    ]


@pytest.fixture
def store(tmp_path: Path) -> SpanStore:
    store = SpanStore(tmp_path / "zipkin.sqlite3")
    yield store
    store.close()


def stored(store: SpanStore, trace: int) -> list[dict] | None:
    bodies = store.trace(f"{trace:016x}")
    return None if bodies is None else [orjson.loads(b) for b in bodies]


def test_identical_spans_are_stored_once_and_fragments_all_kept(store: SpanStore) -> None:
    first = spans_of(1, 2)
    fragment = {**first[0], "tags": {"late": "tag"}}
    assert store.add(first).stored == 2
    result = store.add([first[0], first[0], fragment])
    assert (result.stored, result.duplicates) == (1, 2)
    assert sorted(map(orjson.dumps, stored(store, 1))) == sorted(
        map(orjson.dumps, [*first, fragment])
    )
    assert store.span_count == 3


def test_span_cap_evicts_whole_oldest_traces(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "z.sqlite3", Retention(max_spans=100))
    for trace in range(1, 11):
        store.add(spans_of(trace, 10))
    assert store.span_count == 100
    assert len(store.dependency_links(0, 2_000_000)) == 10  # svc → peer<n>, links now kept
    result = store.add(spans_of(11, 5))
    assert result.evicted == 10  # trace 1 (oldest received) goes whole; slack 1 fits in it
    assert stored(store, 1) is None
    assert all(len(stored(store, t)) == 10 for t in range(2, 11))
    assert store.span_count == 95
    assert "peer1" not in store.remote_service_names("svc")  # names of evicted spans go too
    assert "peer2" in store.remote_service_names("svc")
    assert {link["child"] for link in store.dependency_links(0, 2_000_000)} == {
        f"peer{t}" for t in range(2, 12)
    }  # evicted trace's links are gone, the new trace's computed
    store.close()


def test_retention_age_removes_traces_received_long_ago(store: SpanStore) -> None:
    store.add(spans_of(1, 3, service="old"))
    assert store.expire(now=time.time() + 3600) == 0
    assert store.expire(now=time.time() + store.retention.max_age_s + 1) == 3
    assert store.span_count == 0
    assert store.service_names() == []


def test_a_failing_batch_stores_nothing(store: SpanStore) -> None:
    batch = spans_of(1, 3)
    batch[2] = {**batch[2], "traceId": None}  # breaks inside the transaction
    with pytest.raises(Exception):  # noqa: B017 - any failure; the point is the rollback
        store.add(batch)
    assert stored(store, 1) is None
    assert store.span_count == 0
    assert store.service_names() == []


def test_spans_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "zipkin.sqlite3"
    first = SpanStore(path)
    first.add(spans_of(7, 4))
    first.close()
    again = SpanStore(path)
    assert again.span_count == 4
    assert len(stored(again, 7)) == 4
    assert again.span_names("svc") == ["op0", "op1", "op2", "op3"]
    assert (path.parent / "zipkin.sqlite3-wal").exists() or again._writer.execute(
        "PRAGMA journal_mode"
    ).fetchone()[0] == "wal"
    again.close()


def test_name_lists_are_sorted_and_exclude_unnamed_spans(store: SpanStore) -> None:
    spans = spans_of(1, 2, service="b") + spans_of(2, 1, service="a")
    spans.append(normalise({"traceId": "3", "id": "1", "localEndpoint": {"serviceName": "c"}}))
    store.add(spans)
    assert store.service_names() == ["a", "b", "c"]
    assert store.span_names("b") == ["op0", "op1"]
    assert store.span_names("c") == []


def test_dependency_links_are_recomputed_when_a_trace_grows(store: SpanStore) -> None:
    def rpc(span_id: str, caller: str, callee: str) -> dict:
        return normalise({"traceId": "d", "id": span_id, "parentId": "1", "kind": "CLIENT",
                          "timestamp": 5_000, "localEndpoint": {"serviceName": caller},
                          "remoteEndpoint": {"serviceName": callee}})  # fmt: skip

    root = normalise({"traceId": "d", "id": "1", "kind": "SERVER", "timestamp": 4_000,
                      "localEndpoint": {"serviceName": "web"}})  # fmt: skip
    store.add([root, rpc("2", "web", "db")])
    links = [{"parent": "web", "child": "db", "callCount": 1}]
    assert store.dependency_links(0, 10_000) == links
    assert store.dependency_links(0, 10_000) == links  # from the cache
    assert store.dependency_links(6_000, 10_000) == []  # no span of the trace in the window
    store.add([rpc("3", "web", "cache")])
    assert store.dependency_links(0, 10_000) == [
        *links,
        {"parent": "web", "child": "cache", "callCount": 1},
    ]
