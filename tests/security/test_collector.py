"""The collector as an attacker sees it: a body, a gzip bomb, a huge batch, a cross-site post.

Each probe runs against the collector program (the one `shop up` starts) and asserts the safe
answer, that nothing stored changed, and that the process's memory stayed bounded.
"""

from __future__ import annotations

import gzip
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.fixtures.collector import start_collector, stop_collector

MiB = 1 << 20
RSS_BOUND = 256 * MiB  # the stated bound on the collector's memory
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, psutil.Process]]:
    """A collector with one known trace stored, and its process for memory readings."""
    process, url = start_collector(tmp_path_factory.mktemp("probed"))
    try:
        yield url, psutil.Process(process.pid)
    finally:
        stop_collector(process)


@pytest.fixture(scope="module")
def known_trace(probed) -> str:
    url, _ = probed
    trace_id = uuid.uuid4().hex
    spans = [{"traceId": trace_id, "id": f"{i:016x}", "name": "known",
              "timestamp": int(time.time() * 1e6), "localEndpoint": {"serviceName": "probe"}}
             for i in range(1, 4)]  # fmt: skip
    assert httpx.post(f"{url}/api/v2/spans", json=spans).status_code == 202
    return trace_id


def stored(url: str) -> int:
    return httpx.get(f"{url}/health").json()["zipkin"]["details"]["SQLite"]["details"]["spans"]


class PeakRss:
    """Peak resident memory of a process while the `with` block runs (sampled every 10 ms)."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.peak, self._stop = process, 0, threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bomb(inflated: int) -> bytes:
    """gzip members of 1 MiB of spaces each (a valid multi-member gzip), made in no time."""
    return gzip.compress(b" " * MiB, 9) * (inflated // MiB)


def assert_intact(url: str, trace_id: str, count: int) -> None:
    assert stored(url) == count
    assert len(httpx.get(f"{url}/api/v2/trace/{trace_id}").json()) == 3


def refused_total(url: str, reason: str) -> float:
    prefix = f'collector_messages_refused_total{{reason="{reason}"}} '
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def test_a_200_mb_body_is_refused_as_a_stream(probed, known_trace: str) -> None:
    url, process = probed
    before = stored(url)

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        yield b"["
        span = b'{"traceId":"%s","id":"%016x"},'
        for i in range(200):
            yield span % (uuid.uuid4().hex.encode(), i + 1) * (MiB // len(span))
        yield b'{"traceId":"1","id":"1"}]'

    with PeakRss(process) as rss:
        response = httpx.post(f"{url}/api/v2/spans", content=body(), headers=JSON, timeout=60)
    assert response.status_code == 413
    assert rss.peak < RSS_BOUND
    declared = httpx.post(f"{url}/api/v2/spans", content=b" " * (17 * MiB), headers=JSON)
    assert declared.status_code == 413
    assert refused_total(url, "body_too_large") >= 2
    assert_intact(url, known_trace, before)


@pytest.mark.parametrize("path", ["/api/v2/spans", "/v1/traces"])
def test_a_gzip_bomb_is_refused_before_it_inflates(probed, known_trace: str, path: str) -> None:
    url, process = probed
    before = stored(url)
    body = bomb(1024 * MiB)  # 1 MiB that inflates to 1 GiB
    with PeakRss(process) as rss:
        response = httpx.post(f"{url}{path}", content=body, timeout=60,
                              headers={**JSON, "Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 413, response.text
    assert rss.peak < RSS_BOUND
    assert_intact(url, known_trace, before)


def tiny_spans(count: int) -> bytes:
    return b"[" + b",".join(b'{"traceId":"%x","id":"1"}' % (i + 1) for i in range(count)) + b"]"


def test_a_million_span_batch_evicts_nothing(probed, known_trace: str) -> None:
    url, process = probed
    before = stored(url)
    with PeakRss(process) as rss:
        million = httpx.post(f"{url}/api/v2/spans", content=tiny_spans(1_000_000), headers=JSON)
        # under the body cap, but more spans than one request may hold
        batch = httpx.post(f"{url}/api/v2/spans", content=tiny_spans(10_001), headers=JSON)
    assert (million.status_code, batch.status_code) == (413, 413)
    assert "10001 spans" in batch.text
    assert rss.peak < RSS_BOUND
    assert_intact(url, known_trace, before)
    assert httpx.post(f"{url}/api/v2/spans", content=tiny_spans(10_000), headers=JSON).status_code \
        == 202  # fmt: skip
    assert stored(url) == before + 10_000


def test_a_foreign_page_cannot_post_spans(probed, known_trace: str) -> None:
    url, _ = probed
    before = stored(url)
    spans = f'[{{"traceId":"{uuid.uuid4().hex}","id":"1"}}]'
    for path in ("/api/v2/spans", "/v1/traces"):
        cross = httpx.post(f"{url}{path}", content=spans,
                           headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
        assert cross.status_code == 403
        assert "access-control-allow-origin" not in cross.headers
        plain = httpx.post(f"{url}{path}", content=spans, headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
    assert_intact(url, known_trace, before)
    assert refused_total(url, "foreign_origin") >= 2


def test_oversized_tags_are_capped_and_counted(probed) -> None:
    url, _ = probed
    trace_id = uuid.uuid4().hex
    tags = {f"k{i:03}": "v" for i in range(200)} | {"big": "x" * 100_000}
    span = {"traceId": trace_id, "id": "1", "tags": tags}
    assert httpx.post(f"{url}/api/v2/spans", json=[span]).status_code == 202
    kept = httpx.get(f"{url}/api/v2/trace/{trace_id}").json()[0]["tags"]
    assert len(kept) == 128
    assert len(kept["big"]) == 16_384
    metrics = httpx.get(f"{url}/metrics").text
    assert "collector_span_tags_capped_total 74.0" in metrics  # 201 tags: 73 dropped, 1 cut


def bytes_in_flight(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("collector_bytes_in_flight "):
            return float(line.split()[-1])
    raise AssertionError("collector_bytes_in_flight missing from /metrics")


def test_bodies_in_flight_are_bounded_with_503(tmp_path) -> None:
    process, url = start_collector(tmp_path, {"COLLECTOR_MAX_BODY_BYTES": str(MiB),
                                              "COLLECTOR_MAX_IN_FLIGHT_BYTES": str(MiB)})
    try:
        release = threading.Event()
        first = b"[" + b" " * (MiB - 100)
        outcome: list[object] = []  # the slow body's answer (status and text) or its error

        def slow() -> Iterator[bytes]:
            yield first
            release.wait(20)
            yield b"]"

        def hold() -> None:
            try:
                answer = httpx.post(f"{url}/api/v2/spans", content=slow(), headers=JSON,
                                    timeout=30)  # fmt: skip
                outcome.append((answer.status_code, answer.text))
            except httpx.HTTPError as exc:
                outcome.append(repr(exc))

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        # probe only once the server holds the slow body's first chunk: a probe in flight
        # while that chunk arrives would get the slow body itself refused with 503
        deadline = time.monotonic() + 10
        while (held := bytes_in_flight(url)) < len(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        busy = httpx.post(f"{url}/api/v2/spans", content=b"[" + b" " * 1000 + b"]",
                          headers=JSON) if held >= len(first) else None  # fmt: skip
        release.set()
        holder.join(30)
        assert held >= len(first), f"slow body never held ({held:.0f} bytes); it got {outcome}"
        assert busy is not None and busy.status_code == 503, (
            f"{busy.status_code if busy else None} while {held:.0f} bytes held; "
            f"slow body got {outcome}"
        )
        assert busy.headers["retry-after"] == "1"
        assert outcome == [(202, "")]  # the held body is stored once it ends
        assert bytes_in_flight(url) == 0
        assert httpx.post(f"{url}/api/v2/spans", json=[]).status_code == 202
    finally:
        stop_collector(process)
