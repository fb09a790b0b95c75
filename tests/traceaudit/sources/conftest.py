"""Fixtures of the trace-source tests: the research fixtures, skipped when ../shared is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.paths import NO_RESEARCH, RESEARCH


@pytest.fixture(scope="session")
def research() -> Path:
    """`research/` with trace-sources.md and trace-sources/ (skip if this checkout has none)."""
    if not (RESEARCH / "trace-sources").is_dir():
        pytest.skip(NO_RESEARCH)
    return RESEARCH


@pytest.fixture(scope="session")
def fixtures(research: Path) -> Path:
    return research / "trace-sources"


@pytest.fixture(scope="session")
def expected_zipkin(research: Path) -> list[dict]:
    """The note's §6.4: the Zipkin spans every fixture of the one trace converts to."""
    text = (research / "trace-sources.md").read_text()
    start = text.index("```json", text.index("### 6.4")) + len("```json")
    return json.loads(text[start:text.index("```", start)])
