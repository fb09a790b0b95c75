"""A span sink: records what exporters POST and can answer slowly, which a real collector can't.

Named as what it is: not a collector (no query API); the other tests use the real collector.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SpanSink:
    """HTTP server on 127.0.0.1 taking `POST /api/v2/spans` (JSON) and `POST /v1/traces`."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.zipkin: list[dict] = []
        self.otlp: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(sink.delay)
                with sink.lock:
                    if self.path == "/api/v2/spans":
                        sink.zipkin.extend(json.loads(body))
                    elif self.path == "/v1/traces":
                        sink.otlp.append((self.headers.get("Content-Type", ""), body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self, trace_id: str | None = None) -> list[dict]:
        with self.lock:
            return [s for s in self.zipkin if trace_id is None or s["traceId"] == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
