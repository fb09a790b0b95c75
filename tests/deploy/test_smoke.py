"""`shop smoke` against the running stack: passes when all is up; with a service stopped it
fails naming the check, and Prometheus' ServiceDown alert goes pending for that service."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from services import smoke
from services.cli import main as shop
from services.stack import Stack
from tests.deploy._load import instant, prometheus_url

STOPPED = "product"


def run_smoke(stack: Stack) -> tuple[int, list[str]]:
    result = CliRunner().invoke(shop, ["smoke", "--url", stack.gateway_url, "--notify-timeout",
                                       "15"])
    return result.exit_code, result.output.splitlines()


def test_smoke_passes_against_the_stack(stack: Stack) -> None:
    code, lines = run_smoke(stack)
    assert code == 0, "\n".join(lines)
    assert [line.split(" (")[0] for line in lines[:-1]] == [f"PASS {n}" for n, *_ in smoke.CHECKS]
    assert lines[-1] == f"smoke passed against {stack.gateway_url}: {len(smoke.CHECKS)} checks"


@pytest.fixture(scope="module")
def service_stopped(stack: Stack) -> Iterator[str]:
    stack.stop(STOPPED)
    try:
        yield STOPPED
    finally:
        stack.start(STOPPED)


def test_smoke_fails_naming_the_check_when_a_service_is_stopped(
    stack: Stack, service_stopped: str
) -> None:
    code, lines = run_smoke(stack)
    assert code == 1
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert failed and failed[0].startswith("FAIL list products"), "\n".join(lines)
    assert "502" in failed[0]  # the gateway names the missing upstream
    assert "SKIP place order: needs list products" in lines
    assert lines[-1].startswith(f"smoke FAILED against {stack.gateway_url}: list products")
    assert "PASS create customer" in "\n".join(lines)  # the rest of the shop still answers


def test_service_down_alert_goes_pending_for_the_stopped_service(
    stack: Stack, service_stopped: str
) -> None:
    prom = prometheus_url(stack)
    query = f'ALERTS{{alertname="ServiceDown", job="{service_stopped}"}}'
    deadline = time.monotonic() + 45  # a scrape (5 s) and a rule evaluation (15 s) away
    while not (alerts := instant(prom, query)):
        assert time.monotonic() < deadline, f"no ServiceDown alert for {service_stopped}"
        time.sleep(1)
    assert alerts[0]["metric"]["alertstate"] in ("pending", "firing")
    assert {r["metric"]["job"] for r in instant(prom, "up == 0")} == {service_stopped}
