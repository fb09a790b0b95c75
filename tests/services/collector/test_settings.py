"""Collector settings from the environment, and what they switch on in the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from services.collector.app import create_app
from services.collector.settings import CollectorSettings


def test_defaults_follow_the_port_offset_and_var_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOP_PORT_OFFSET", "16000")
    monkeypatch.setenv("SHOP_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("COLLECTOR_CORS_ORIGINS", raising=False)
    monkeypatch.delenv("COLLECTOR_PORT", raising=False)
    settings = CollectorSettings()
    assert settings.port("collector") == 25411
    assert settings.db_path == tmp_path / "zipkin.sqlite3"
    assert settings.cors_origins == [
        "http://localhost:21173", "http://127.0.0.1:21173",
        "http://localhost:24222", "http://127.0.0.1:24222",
    ]  # fmt: skip


@pytest.fixture
def configured(monkeypatch, tmp_path: Path) -> TestClient:
    monkeypatch.setenv("COLLECTOR_CORS_ORIGINS", "https://shop.example")
    monkeypatch.setenv("COLLECTOR_AUTOCOMPLETE_KEYS", "env, region")
    app = create_app(CollectorSettings(collector_db=tmp_path / "z.sqlite3"))
    with TestClient(app) as client:
        yield client


def test_autocomplete_serves_configured_keys_and_seen_values(configured: TestClient) -> None:
    spans = [
        {"traceId": "1", "id": f"{i:016x}", "tags": {"env": env, "other": "x"}}
        for i, env in enumerate(["prod", "dev", "prod"], start=1)
    ]
    assert configured.post("/api/v2/spans", json=spans).status_code == 202
    assert configured.get("/api/v2/autocompleteKeys").json() == ["env", "region"]
    assert configured.get("/api/v2/autocompleteValues?key=env").json() == ["dev", "prod"]
    assert configured.get("/api/v2/autocompleteValues?key=other").json() == []  # not configured
    assert configured.get("/api/v2/autocompleteValues").status_code == 400


def test_cors_origins_come_from_the_environment(configured: TestClient) -> None:
    allowed = configured.post("/api/v2/spans", json=[], headers={"Origin": "https://shop.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    default = configured.post("/api/v2/spans", json=[], headers={"Origin": "http://localhost:5173"})
    assert "access-control-allow-origin" not in default.headers


def test_span_cap_from_the_environment_bounds_the_store(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLLECTOR_MAX_SPANS", "100")
    app = create_app(CollectorSettings(collector_db=tmp_path / "z.sqlite3"))
    with TestClient(app) as client:
        for trace in range(1, 4):
            spans = [{"traceId": f"{trace:x}", "id": f"{i:x}"} for i in range(1, 51)]
            assert client.post("/api/v2/spans", json=spans).status_code == 202
        assert client.get("/api/v2/trace/1").status_code == 404  # oldest trace went whole
        assert len(client.get("/api/v2/trace/3").json()) == 50
        assert 'collector_spans_dropped_total{reason="span_cap"}' in client.get("/metrics").text
