"""Drive a little load through the stack and wait until Prometheus has scraped it.

Used by the Prometheus and metrics-report tests (tests/deploy, tests/traceaudit): the load is
two full smoke passes (every public endpoint, two orders with their payments and mails), run
again when the last one is older than FRESH_FOR.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pytest
import requests

from services import smoke
from services.stack import Stack, StackError

ROUNDS = 2
FRESH_FOR = 90.0  # seconds a load stays recent enough for the 5-minute windows of the tests
_loaded_at: dict[int, float] = {}


def prometheus_url(stack: Stack) -> str:
    """The stack's Prometheus, or a clear failure when it is not part of the stack."""
    try:
        stack.program("prometheus")
    except StackError:
        pytest.fail("prometheus is not in the stack: install it (scripts/bootstrap.sh)",
                    pytrace=False)
    return stack.url("prometheus")


def instant(url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query; fails the test with Prometheus' own message on error."""
    body = requests.post(f"{url}/api/v1/query", data={"query": expr}, timeout=10).json()
    if body["status"] != "success":
        pytest.fail(f"{expr}: {body.get('errorType')}: {body.get('error')}", pytrace=False)
    return body["data"]["result"]


def targets(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]


def loaded(stack: Stack) -> str:
    """Prometheus' URL, after a recent load that Prometheus has scraped.

    One smoke pass first creates every series and is scraped, so the later passes show up as
    increases (rate() ignores a series' first sample); then two scrapes after the last pass.
    """
    url = prometheus_url(stack)
    if time.monotonic() - _loaded_at.get(id(stack), -FRESH_FOR) < FRESH_FOR:
        return url
    for round_ in range(ROUNDS):
        results = list(smoke.run(stack.gateway_url, notify_timeout=15))
        failed = [r.line() for r in results if r.status != "PASS"]
        assert not failed, "the load (smoke pass) failed:\n" + "\n".join(failed)
        _wait_scraped(url, after=time.time(), scrapes=2 if round_ == ROUNDS - 1 else 1)
    _loaded_at[id(stack)] = time.monotonic()
    return url


def _wait_scraped(url: str, after: float, scrapes: int, interval: float = 5.0) -> None:
    deadline = time.monotonic() + 30
    while True:
        scraped = [_epoch(t["lastScrape"]) for t in targets(url)]
        if scraped and min(scraped) > after + (scrapes - 1) * interval + 0.5:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"Prometheus did not scrape every target after the load: {targets(url)}")
        time.sleep(0.5)


def _epoch(rfc3339: str) -> float:
    """Prometheus' scrape time (ns precision); year 1 means never scraped."""
    return 0.0 if rfc3339.startswith("0001-") else pd.Timestamp(rfc3339).timestamp()
