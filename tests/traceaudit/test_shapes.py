"""traceaudit on the project's own traces (tests/fixtures/traces.py): the shapes of the official
samples, with answers worked out by hand there; these run without ../shared."""

from __future__ import annotations

import orjson
import pytest

from tests.fixtures import traces
from traceaudit import analyse, build_tree, correct_skew, read_spans


@pytest.fixture
def read(tmp_path):
    """Write a trace as /api/v2/traces JSON and read it back with read_spans."""
    def _read(spans: list[dict]):
        path = tmp_path / "traces.json"
        path.write_bytes(orjson.dumps([spans]))
        return read_spans(path)
    return _read


def test_skew_is_corrected_as_the_zipkin_ui_does(read):
    df = read(traces.skew())
    start, corrected = correct_skew(df, build_tree(df))
    names = df["name"].astype(str) + "/" + df["kind"].astype(object).fillna("-").astype(str)
    assert dict(zip(names, start.tolist(), strict=True)) == traces.SKEW_EXPECTED
    assert corrected == 1


def test_fragments_fold_into_their_server_and_shared_is_backfilled(read):
    df = read(traces.fragments())
    assert len(df) == 5
    anomalies = df.attrs["anomalies"]
    assert anomalies["fragments_merged"] == 3
    assert anomalies["shared_backfilled"] == 1
    assert (df["kind"].isna() & df["start_us"].isna()).sum() == 0
    server = df[(df["kind"] == "SERVER") & (df["name"] == "post /charge")]
    assert len(server) == 1 and server["start_us"].iloc[0] == traces.T0 + 2_000


def test_headless_consumers_are_counted(read):
    tree = build_tree(read(traces.messaging()))
    assert tree.anomalies["orphans"] == 2


def test_64_bit_ids_with_the_top_bit_set_stay_as_written(read):
    df = read(traces.ids64())
    assert df["trace_id"].astype(str).unique().tolist() == [traces.IDS64_TRACE]
    assert sorted(df["span_id"]) == ["8000000000000000", "fffffffffffffffe", "ffffffffffffffff"]
    assert build_tree(df).anomalies.get("orphans", 0) == 0


def test_a_thousand_span_trace_critical_path_is_the_root_duration(read):
    df = read(traces.large())
    assert len(df) == 1000
    a = analyse(df, service="frontend", span="get /catalog")
    assert len(a.traces) == 1
    assert a.traces["duration_us"].iloc[0] == traces.LARGE_ROOT_US
    assert a.attribution["cp_us"].sum() == traces.LARGE_ROOT_US
