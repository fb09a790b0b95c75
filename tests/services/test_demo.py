"""`shop demo` on the session stack: the slowed hop ranks first and both reports open cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.demo import run_demo
from tests.fixtures.browser import SCREENSHOTS, open_page


@pytest.fixture(scope="module")
def demo(stack, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-reports")
    return run_demo(orders=40, users=4, slow_hop="customer", reports_dir=out, keep_up=True,
                    env=stack.env)


def test_the_slowed_hop_ranks_first(demo):
    hops = demo.ranking["hops"]
    assert hops, "the ranking has no hops"
    assert hops[0]["hop"] == "customer"
    assert demo.ranking["traces"] >= 30
    assert demo.load["degraded"]["orders"], "the degraded phase placed no orders"


@pytest.mark.parametrize("which", ["orders_report", "trace_report"])
def test_reports_open_in_chromium_without_console_errors(demo, which):
    path: Path = getattr(demo, which)
    assert path.is_file() and path.stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "orders-report" if which == "orders_report" else "trace-report"
    errors, text = open_page(path.as_uri(), SCREENSHOTS / f"{name}.png")
    assert errors == [], f"console errors in {path.name}: {errors}"
    if which == "trace_report":
        assert demo.slowest_trace in text
    else:
        assert "customer" in text
