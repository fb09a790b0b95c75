"""Web shop fixtures: one production build per session, headless Debian Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web._web import WEB, npm


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """`npm run build` (type check + Vite production build) once; the dist folder."""
    done = npm("run", "build")
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"npm run build failed:\n{output}"
    return WEB / "dist"


@pytest.fixture(scope="module")
def browser(stack):
    """Headless Debian Chromium driven by Python playwright (never `playwright install`).

    Module-scoped and after `stack`: sync playwright keeps an event loop running in this
    thread, so `asyncio.run` (stack set-up, other tests) fails while it is open.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium missing: run `bash scripts/bootstrap.sh` (apt chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shop_context(stack, web_dist, browser):
    """One browser profile for the whole session: the customer it creates is remembered."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(shop_context) -> Iterator:
    page = shop_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"uncaught errors in the page: {errors}"

