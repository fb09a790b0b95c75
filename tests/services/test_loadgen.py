"""The load driver stops with a reason when orders cannot be made, instead of looping forever."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.loadgen import run_load


class _SoldOut(BaseHTTPRequestHandler):
    """A shop front whose catalogue is sold out: signups work, every product has stock 0."""

    orders_posted = 0

    def _answer(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/api/v1/products"):
            self._answer(200, [{"id": i, "price": 9.99, "availableQuantity": 0}
                               for i in (1, 2, 3)])
        else:
            self._answer(200, [])

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/api/v1/customers":
            self._answer(200, 42)
        elif self.path == "/api/v1/orders":
            type(self).orders_posted += 1
            self._answer(400, {"message": "bad request"})
        else:
            self._answer(404, {})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sold_out() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SoldOut)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sold_out_shop_stops_after_20_attempts_with_the_reason(sold_out):
    _SoldOut.orders_posted = 0
    result = asyncio.run(asyncio.wait_for(
        run_load(sold_out, orders=50, users=3, seed=5), timeout=60))
    assert result.stopped is not None
    assert "20 order attempts in a row" in result.stopped
    assert result.stopped.endswith("no product in stock")
    assert "\n" not in result.stopped
    assert sum(result.orders.values()) == 0
    # only the invalid-body task posts orders: a sold-out basket is never sent
    assert _SoldOut.orders_posted == result.requests[("bad_request", 400)]


def test_unreachable_gateway_stops_with_the_transport_error():
    url = f"http://127.0.0.1:{_closed_port()}"
    result = asyncio.run(asyncio.wait_for(run_load(url, orders=10, users=2), timeout=60))
    assert result.stopped is not None
    assert "no customer could be signed up" in result.stopped
    assert result.failed_in_a_row == 20
    assert result.orders == {}


def test_a_smaller_limit_is_honoured(sold_out):
    result = asyncio.run(asyncio.wait_for(
        run_load(sold_out, orders=5, users=1, seed=2, max_failed=3), timeout=60))
    assert result.failed_in_a_row == 3
    assert "3 order attempts in a row" in result.stopped
