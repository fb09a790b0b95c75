"""`create_app`'s process set-up: the heap alive after startup is frozen out of the GC."""

from __future__ import annotations

import asyncio
import gc
import sys

from starlette.testclient import TestClient

from services.common import app as app_module


def test_startup_freezes_the_heap_so_full_collections_skip_it(monkeypatch) -> None:
    monkeypatch.setattr(app_module.logs, "configure", lambda *a, **k: None)  # keep pytest's logs
    gc.unfreeze()
    try:
        with TestClient(app_module.create_app("customer")) as client:
            assert gc.get_freeze_count() > 10_000  # modules, routes, the app itself
            assert client.get("/health/live").status_code == 200
    finally:
        gc.unfreeze()


def test_httpcore_finds_sniffio() -> None:
    # Without sniffio, httpcore retries `import sniffio` (a sys.path scan) for every async lock.
    from httpcore._synchronization import current_async_library

    async def library() -> str:
        return current_async_library()

    assert asyncio.run(library()) == "asyncio"
    assert "sniffio" in sys.modules
