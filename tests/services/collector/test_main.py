"""`python -m services.collector`: the --db flag, and spans that survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.fixtures.collector import start_collector, stop_collector


def test_spans_survive_a_restart_of_the_process(tmp_path: Path) -> None:
    span = {"traceId": "5" * 32, "id": "1" * 16, "name": "kept", "timestamp": 1_600_000_000_000_000,
            "localEndpoint": {"serviceName": "durable"}}  # fmt: skip
    process, url = start_collector(tmp_path)
    try:
        assert httpx.post(f"{url}/api/v2/spans", json=[span]).status_code == 202
    finally:
        stop_collector(process)
    assert (tmp_path / "zipkin.sqlite3").exists()  # the --db path the fixture passes
    process, url = start_collector(tmp_path)
    try:
        assert httpx.get(f"{url}/api/v2/trace/{'5' * 32}").json() == [span]
        assert httpx.get(f"{url}/api/v2/services").json() == ["durable"]
    finally:
        stop_collector(process)
