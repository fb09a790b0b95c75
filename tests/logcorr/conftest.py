"""Fixtures of the logcorr tests: a generated multi-format log folder and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from logcorr.cli import main
from tests.logcorr.corpus import Corpus, build


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    """Ten services, one per supported format, 30 traces (read-only: copy it to change it)."""
    return build(tmp_path_factory.mktemp("logs") / "log", n_traces=30)


@pytest.fixture
def logs(corpus: Corpus, tmp_path: Path) -> Path:
    """A private copy of the corpus folder, for tests that index or append."""
    return Path(shutil.copytree(corpus.folder, tmp_path / "log"))


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: bytes | str | None = None):
        return self.runner.invoke(main, [str(a) for a in args], input=input)

    def json(self, *args: str) -> list[dict]:
        result = self(*args, "--format", "json")
        assert result.exit_code == 0, result.output
        return [orjson.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def cli() -> Cli:
    return Cli()
