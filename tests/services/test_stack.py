"""The process manager: readiness, a taken port or missing module named, DB outage → 503."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from services import stack as stack_module
from services.stack import Stack, StackError
from tests.fixtures.stack import fresh_stack, session_offset

OFFSET = session_offset() + 700  # beside the session stack, never on it


def test_every_program_of_the_session_stack_is_ready(stack) -> None:
    rows = stack.status()
    assert rows and all(r["state"] == "RUNNING" and r["ready"] == "ready" for r in rows), rows
    for row in rows:
        assert stack.output_path(str(row["name"])).exists()


def test_a_taken_port_is_reported_by_name(tmp_path: Path) -> None:
    shop = Stack({"SHOP_PORT_OFFSET": str(OFFSET), "SHOP_VAR_DIR": str(tmp_path)},
                 programs=["customer", "product"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", shop.port("product")))
        squatter.listen()
        with pytest.raises(StackError) as error:
            shop.up(timeout=5)
    message = str(error.value)
    assert f"product: port {shop.port('product')} is already in use by pid " in message
    assert "\n  customer:" not in message  # only the program whose port is taken
    assert not shop.supervisor_running() and shop.pids() == []


def test_a_missing_program_module_is_named(tmp_path: Path, monkeypatch) -> None:
    programs = [*stack_module.PROGRAMS, stack_module.python_program("nosuchservice")]
    monkeypatch.setattr(stack_module, "PROGRAMS", programs)
    shop = Stack({"SHOP_PORT_OFFSET": str(OFFSET), "SHOP_VAR_DIR": str(tmp_path)},
                 programs=["nosuchservice"])
    with pytest.raises(StackError, match=r"nosuchservice: module services.nosuchservice does not"):
        shop.up(timeout=5)


def test_a_program_that_exits_is_named_with_its_last_output(tmp_path: Path) -> None:
    shop = Stack({"SHOP_PORT_OFFSET": str(OFFSET), "SHOP_VAR_DIR": str(tmp_path),
                  "LOG_LEVEL": "bogus"}, programs=["customer"])
    try:
        with pytest.raises(StackError, match=r"(?is)customer exited .*'bogus'"):
            shop.up(timeout=30)
    finally:
        shop.down()
    assert shop.pids() == []


class Forwarder:
    """A TCP forwarder to PostgreSQL that can be switched off: a database outage on demand."""

    def __init__(self, port: int, target: tuple[str, int] = ("127.0.0.1", 5432)):
        self.port, self.target = port, target
        self.server: socket.socket | None = None
        self.conns: list[socket.socket] = []

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(OSError):  # wakes the blocked accept() (Linux)
                self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            self.server = None
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.conns.clear()


@pytest.fixture
def outage_stack(tmp_path: Path) -> Iterator[tuple[Stack, Forwarder]]:
    shop = fresh_stack(OFFSET, tmp_path, programs=["customer"])
    forwarder = Forwarder(port=OFFSET + 5432)
    shop.env["DATABASE_PORT"] = str(forwarder.port)
    yield shop, forwarder
    forwarder.stop()
    shop.down()


def _ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/health/ready", timeout=5)


def wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_database_outage_is_503_and_recovers_without_restart(outage_stack) -> None:
    shop, forwarder = outage_stack
    with pytest.raises(StackError, match=r"customer not ready after 6 s: "):
        shop.up(timeout=6)  # PostgreSQL unreachable from the start: named, with the reason
    url = shop.url("customer")
    pid = shop.status()[0]["pid"]
    # (on a busy machine the process may not listen yet after 6 s; then the reason says so)
    assert wait_for(lambda: "database" in (shop.probe("customer") or ""), timeout=30)
    assert _ready(url).status_code == 503

    start = time.monotonic()
    down = httpx.get(f"{url}/api/v1/customers", timeout=10)
    assert down.status_code == 503 and time.monotonic() - start < 5
    assert down.json()["status"] == 503 and "atabase" in down.json()["message"]

    forwarder.start()  # the database comes back: ready without a restart
    assert wait_for(lambda: _ready(url).status_code == 200, timeout=15)
    assert httpx.get(f"{url}/api/v1/customers").status_code == 200

    forwarder.stop()  # and goes away again: 503 fast, not a hang
    assert wait_for(lambda: _ready(url).status_code == 503, timeout=10)
    start = time.monotonic()
    assert httpx.get(f"{url}/api/v1/customers", timeout=10).status_code == 503
    assert time.monotonic() - start < 5

    forwarder.start()
    assert wait_for(lambda: httpx.get(f"{url}/api/v1/customers").status_code == 200, timeout=15)
    assert shop.status()[0]["pid"] == pid  # the same process all along
    assert psutil.pid_exists(pid)
