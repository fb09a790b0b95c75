"""The same traces as Zipkin v2, Jaeger and OTLP JSON give the same hop table, figure by figure.

Zipkin's form is the reference; the Jaeger and OTLP forms are written by `_export` (no shared
ids, error as status or bool tag, ns times) and read back through the file source.
"""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from traceaudit import analyse, hop_table, read_spans
from traceaudit._synth import order_traces
from traceaudit.sources._export import to_jaeger, to_otlp
from traceaudit.sources.files import iter_file_traces


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    traces = list(order_traces(1000, slow={"payment": 4_000}))
    # some traces with a failing hop (error tag "" on the client, a message on the server)
    traces += list(order_traces(100, seed=7, error_hop="product", start_us=1_768_000_000_000_000))
    root = tmp_path_factory.mktemp("same")
    out = {"zipkin": root / "z.json", "jaeger": root / "j.json", "otlp": root / "o.jsonl"}
    out["zipkin"].write_bytes(orjson.dumps(traces))
    out["jaeger"].write_bytes(orjson.dumps(to_jaeger(traces)))
    out["otlp"].write_bytes(b"\n".join(orjson.dumps(to_otlp(traces[i:i + 50]))
                                       for i in range(0, len(traces), 50)))
    return traces, out


@pytest.fixture(scope="module")
def tables(files):
    return {name: hop_table(analyse(read_spans(path, keep_tags=False)))
            for name, path in files[1].items()}


@pytest.mark.parametrize("name", ["jaeger", "otlp"])
def test_identical_hop_tables(tables, name):
    pd.testing.assert_frame_equal(tables[name], tables["zipkin"], check_exact=True)


def test_the_reference_table_is_right(files, tables):
    """The Zipkin table's key figures, computed by hand from the generated spans."""
    traces, _ = files
    table = tables["zipkin"].set_index("hop")
    assert set(table.index) >= {"customer", "product", "payment"}
    for hop in ("customer", "product", "payment"):
        clients = [s for t in traces for s in t if s.get("kind") == "CLIENT"
                   and s["localEndpoint"]["serviceName"] == "order"
                   and s.get("tags", {}).get("peer.service") == hop]
        assert table.loc[hop, "calls"] == len(clients) == len(traces)
        durations = pd.Series([s["duration"] / 1000 for s in clients])
        assert table.loc[hop, "client_p50_ms"] == pytest.approx(durations.median())
        errors = sum("error" in s["tags"] for s in clients) / len(clients)
        assert table.loc[hop, "error_rate"] == pytest.approx(errors)
    assert table.loc["product", "error_rate"] == pytest.approx(100 / 1100)
    assert table.index[0] == "payment"  # 4 ms slower on every trace


SAMPLES = ["messaging2.json", "skew.json", "smartthings-mobile-web-install.json",
           "smartthings-oauth-authorization.json", "yelp.json"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_shared_zipkin_samples_as_jaeger_and_otlp(sample, tmp_path, zipkin_samples):
    """Real Zipkin traces (shared client/server ids, lost halves, fragments): split as Jaeger
    splits them, written as Jaeger and OTLP JSON, read back: the same hop table for every root
    endpoint of the sample (skipped, with ZIPKIN_TESTDATA's reason, where they are absent)."""
    path = zipkin_samples / sample
    (traces,) = iter_file_traces(path)
    zipkin = read_spans(path, keep_tags=False)
    (tmp_path / "j.json").write_bytes(orjson.dumps(to_jaeger(traces)))
    (tmp_path / "o.json").write_bytes(orjson.dumps(to_otlp(traces)))
    others = {k: read_spans(tmp_path / k, keep_tags=False) for k in ("j.json", "o.json")}
    roots = zipkin[zipkin["parent_id"].isna()][["service", "name"]].astype(str)
    assert len(roots)
    for service, name in roots.drop_duplicates().itertuples(index=False):
        want = hop_table(analyse(zipkin, service=service, span=name))
        assert len(want) >= 2  # a hop or more, and the root's own time
        for other in others.values():
            pd.testing.assert_frame_equal(
                hop_table(analyse(other, service=service, span=name)), want, check_exact=True)
