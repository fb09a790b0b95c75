"""The web shop builds (TypeScript + Vite) and its Vitest unit tests pass."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web._web import npm


def test_production_build_links_its_assets(web_dist: Path) -> None:
    index = (web_dist / "index.html").read_text()
    scripts = re.findall(r'src="/(assets/[^"]+\.js)"', index)
    styles = re.findall(r'href="/(assets/[^"]+\.css)"', index)
    assert scripts and styles, index
    for asset in scripts + styles:
        assert (web_dist / asset).stat().st_size > 0, asset


def test_vitest_unit_tests_pass() -> None:
    done = npm("exec", "--", "vitest", "run", "--reporter=dot")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert re.search(r"Tests\s+\d+ passed", re.sub(r"\x1b\[[0-9;]*m", "", output)), output[-2000:]
