"""Fixtures of the telemetry module tests: a span sink and the demo service under uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.collector import free_port
from tests.services.common.spansink import SpanSink

REPO = Path(__file__).resolve().parents[3]
VHOST = "telemetry-tests"


@dataclass
class DemoService:
    url: str
    log_path: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def rabbit_vhost() -> str:
    """A RabbitMQ vhost of these tests (created with rabbitmqctl, idempotent)."""
    try:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", VHOST], capture_output=True, timeout=30)
        done = subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
            capture_output=True, text=True, timeout=30,
        )
    except FileNotFoundError:
        pytest.fail("rabbitmqctl not found: RabbitMQ must be installed and running")
    if done.returncode:
        pytest.fail(f"cannot prepare RabbitMQ vhost {VHOST}: {done.stderr.strip()}")
    return VHOST


@pytest.fixture
def sink() -> Iterator[SpanSink]:
    s = SpanSink()
    yield s
    s.close()


@pytest.fixture
def demo_service(
    tmp_path: Path, rabbit_vhost: str
) -> Iterator[Callable[..., DemoService]]:
    """Start `tests.services.common.demoapp` under uvicorn with extra env; stopped at the end."""
    started: list[DemoService] = []

    def start(**env: str) -> DemoService:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        var_dir = tmp_path / f"var{len(started)}"
        full_env = {
            **os.environ,
            "SHOP_VAR_DIR": str(var_dir),
            "SHOP_DB_PREFIX": "telemetry_test_",
            "BROKER_URL": f"amqp://guest:guest@127.0.0.1:5672/{rabbit_vhost}",
            "DEMO_SELF_URL": url,
            "LOG_LEVEL": "info",
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # spans arrive quickly; the tests wait less
            **env,
        }
        var_dir.mkdir(parents=True)
        output = var_dir / "stderr.txt"
        with output.open("wb") as sink_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "tests.services.common.demoapp:app",
                 "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO, env=full_env, stdout=sink_file, stderr=subprocess.STDOUT,
            )
        service = DemoService(url, var_dir / "log" / "order.jsonl", process)
        started.append(service)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"demo service exited: {output.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    return service
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"demo service not ready in 30 s: {httpx.get(f'{url}/health/ready').text}")

    yield start
    for service in started:
        service.stop()
