"""Shared pytest configuration: fixtures live in tests/fixtures/, one module per concern.

Markers are applied here from what a test uses (registered in pyproject.toml):
`stack` needs the local services (PostgreSQL, RabbitMQ, the shop's processes), `browser` drives
Chromium, `slow` takes long on its own. `make check` runs the rest: `-m "not stack and not
browser and not slow"`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.paths",
    "tests.fixtures.collector",
    "tests.fixtures.stack",
]

#: Fixtures that start the shop or reach PostgreSQL/RabbitMQ, and module-level names of the
#: modules that start stacks themselves.
STACK_FIXTURES = {"stack", "rabbit_vhost", "demo_service"}
STACK_NAMES = {"Stack", "fresh_stack", "psycopg"}
#: Fixtures that drive Chromium, and what a module that drives it itself calls.
BROWSER_FIXTURES = {"browser", "page", "shop_context"}
BROWSER_CALLS = ("sync_playwright", "open_page(")
#: Tests that need no service but take seconds of CPU on their own (a file, or file::test).
SLOW_FIXTURES = {"research"}
SLOW_TESTS = {
    "tests/notebooks/test_explore_orders.py",
    "tests/web/test_build.py",  # npm: a production build and vitest
    "tests/deploy/test_lint.py",  # node and schema validators
    "tests/services/test_gateway.py",  # a gateway process of its own
    "tests/traceaudit/sources/test_same_answer.py",  # 1,100 traces in three formats
    "tests/security/test_collector.py::test_a_million_span_batch_evicts_nothing",
    "tests/security/test_collector.py::test_bodies_in_flight_are_bounded_with_503",
    "tests/security/test_collector.py::test_a_200_mb_body_is_refused_as_a_stream",
    "tests/traceaudit/test_callers.py::test_lost_spans_never_change_the_caller_of_intact_traces",
    # retries with back-off against failing backends: ~4.5 s of waiting each
    "tests/traceaudit/sources/test_zipkin.py::test_a_window_larger_than_the_limit_and_the_failures",
    "tests/traceaudit/sources/test_jaeger.py::test_failures_are_one_line_naming_the_url",
    "tests/traceaudit/sources/test_tempo.py::test_failures_are_one_line_naming_the_url",
}


@cache
def _source(path: str) -> str:
    return Path(path).read_text(errors="replace") if path.endswith(".py") else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module = getattr(item, "module", None)
        names = set(vars(module)) if module else set()
        source = _source(str(item.path))
        path, _, rest = item.nodeid.partition("::")
        test = f"{path}::{rest.split('[')[0]}"
        if fixtures & STACK_FIXTURES or names & STACK_NAMES:
            item.add_marker(pytest.mark.stack)
        if fixtures & BROWSER_FIXTURES or any(call in source for call in BROWSER_CALLS):
            item.add_marker(pytest.mark.browser)
        if fixtures & SLOW_FIXTURES or path in SLOW_TESTS or test in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
