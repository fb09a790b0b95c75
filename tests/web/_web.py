"""Helpers of the web shop tests: npm in services/web and screenshots."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.browser import SCREENSHOTS
from tests.fixtures.paths import REPO

WEB = REPO / "services" / "web"


def npm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run npm in services/web; a missing install is a clear failure, not a skip."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed (Node.js 20 + npm are needed for the web shop)")
    if not (WEB / "node_modules" / ".bin" / "vite").exists():
        pytest.fail("services/web/node_modules missing: run `bash scripts/bootstrap.sh` (npm ci)")
    return subprocess.run(
        ["npm", *args], cwd=WEB, capture_output=True, text=True, timeout=timeout
    )


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
