"""Discovery: the root endpoints of a file or a Zipkin window, and the hint when none match."""

from __future__ import annotations

import json
import time

import httpx
from click.testing import CliRunner

from tests.traceaudit import foreign_shapes as fs
from traceaudit import spans_frame
from traceaudit.cli import main
from traceaudit.endpoints import closest, endpoints


def _shop_traces(offset_us: int = 0) -> list[list[dict]]:
    """3 × `shopfront get /cart` (200, 400, 600 µs) and 2 × `shopfront post /checkout`
    (1000, 3000 µs), each one span; plus a trace whose only span is an orphan."""
    out = []
    for i, dur in enumerate((200, 400, 600)):
        out.append([fs.span(f"{i + 1:016x}", "a1", None, "shopfront", "get /cart", "SERVER",
                            offset_us + i * 10_000, dur)])
    for i, dur in enumerate((1000, 3000)):
        out.append([fs.span(f"{i + 11:016x}", "b1", None, "shopfront", "post /checkout",
                            "SERVER", offset_us + i * 10_000, dur)])
    out.append([fs.span("f" * 16, "c1", "dead", "shopfront", "lost", "SERVER", offset_us, 5)])
    return out


def test_endpoints_counts_traces_and_percentiles_of_roots_only():
    table = endpoints(spans_frame(_shop_traces())).set_index("span")
    assert list(table.index) == ["get /cart", "post /checkout"]  # the orphan is no root
    assert table.loc["get /cart", "traces"] == 3
    assert table.loc["get /cart", "p50_ms"] == 0.4
    # numpy's linear p95 of (1000, 3000): 1000 + 0.95 × 2000 = 2900 µs
    assert abs(table.loc["post /checkout", "p95_ms"] - 2.9) < 1e-9


def test_closest_prefers_the_same_service_and_a_similar_name():
    table = endpoints(spans_frame(_shop_traces()))
    near = closest(table, "shopfront", "post /chekout")
    assert near.iloc[0]["span"] == "post /checkout"


def test_orders_with_an_unknown_span_exits_1_naming_the_closest(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_shop_traces()))
    res = CliRunner().invoke(main, ["orders", "--from-file", str(path), "--service",
                                    "shopfront", "--span", "get /carts", "--no-html"])
    assert res.exit_code == 1
    assert "--service shopfront --span 'get /cart'" in res.output
    res = CliRunner().invoke(main, ["endpoints", "--from-file", str(path), "--format", "csv"])
    assert res.exit_code == 0
    assert res.output.splitlines()[1].startswith("shopfront,get /cart,3,")


def test_endpoints_and_the_hint_against_a_zipkin(collector):
    start = int((time.time() - 300) * 1e6) - fs.T0
    spans = [s for t in _shop_traces(start) for s in t]
    assert httpx.post(f"{collector}/api/v2/spans", json=spans, timeout=30).status_code == 202
    res = CliRunner().invoke(main, ["endpoints", "--zipkin", collector, "--since", "1h",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {(r["service"], r["span"]): r["traces"] for r in json.loads(res.output)}
    assert rows[("shopfront", "get /cart")] == 3
    assert rows[("shopfront", "post /checkout")] == 2
    res = CliRunner().invoke(main, ["orders", "--zipkin", collector, "--service", "shopfront",
                                    "--span", "post /checkout/now", "--no-html"])
    assert res.exit_code == 1
    assert "--span 'post /checkout'" in res.output


def test_an_unknown_caller_exits_1_naming_the_services(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([fs.one_downstream()]))
    res = CliRunner().invoke(main, ["orders", "--from-file", str(path), "--caller", "ordr",
                                    "--no-html"])
    assert res.exit_code == 1
    assert "services: gateway, order, payment" in res.output
    res = CliRunner().invoke(main, ["orders", "--from-file", str(path), "--caller", "gateway",
                                    "--no-html", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert [h["hop"] for h in json.loads(res.output)["hops"]] == ["order"]
