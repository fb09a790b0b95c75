"""Shared pytest configuration: fixtures live in tests/fixtures/, one module per concern."""

pytest_plugins = [
    "tests.fixtures.paths",
    "tests.fixtures.collector",
    "tests.fixtures.stack",
]
