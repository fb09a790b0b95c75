"""The collector's read-only UI in Zipkin's layout: `/zipkin/` and `/zipkin/traces/{id}`."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import httpx
import pytest

from tests.fixtures.collector import start_collector, stop_collector

http = httpx.Client(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    http.close()


def post(url: str, spans: list[dict]) -> None:
    response = http.post(f"{url}/api/v2/spans", json=spans)
    assert response.status_code == 202, response.text


def now_us() -> int:
    return int(time.time() * 1_000_000)


def trace_of(service: str, start_us: int, *, error: bool = False) -> tuple[str, list[dict]]:
    """A root SERVER span of `service` with one CLIENT child (tagged error when asked)."""
    trace_id, root, child = uuid.uuid4().hex, uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    spans = [
        {"traceId": trace_id, "id": root, "name": "post /api/v1/orders", "kind": "SERVER",
         "timestamp": start_us, "duration": 40_000, "localEndpoint": {"serviceName": service},
         "tags": {"http.method": "POST", "http.route": "/api/v1/orders"}},
        {"traceId": trace_id, "id": child, "parentId": root, "name": "get", "kind": "CLIENT",
         "timestamp": start_us + 5_000, "duration": 20_000,
         "localEndpoint": {"serviceName": service}, "remoteEndpoint": {"serviceName": "product"},
         "tags": {"error": "timed out"} if error else {}},
    ]
    return trace_id, spans


def span_sections(html: str) -> dict[str, str]:
    """span id → the HTML of its waterfall row and the log list under it."""
    parts = re.split(r'(?=<tr class="span)', html)[1:]
    return {re.search(r'data-span="([0-9a-f]+)"', part).group(1): part for part in parts}


def test_trace_page_shows_every_span_of_a_sample(collector, zipkin_samples) -> None:
    spans = json.loads((zipkin_samples / "yelp.json").read_text())
    post(collector, spans)
    trace_id = spans[0]["traceId"]
    response = http.get(f"{collector}/zipkin/traces/{trace_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = unescape(response.text)
    rows = re.split(r'(?=<tr class="span)', html)[1:]
    assert len(rows) == len(spans)  # the client and server halves of a shared id are two rows

    def row_of(span: dict) -> str:
        """The row with the span's id, service, name and kind, in the report's order."""
        head = (rf'data-span="{span["id"]}".*?>{re.escape(span["localEndpoint"]["serviceName"])}'
                rf'</span>\s*{re.escape(span["name"])} <span class="kind">{span.get("kind", "")}')
        found = [row for row in rows if re.search(head, row, re.S)]
        assert found, span
        return found[0]

    for span in spans:
        row_of(span)
    # tags sit in a <details> in their span's row, for the reader to open
    tagged = next(s for s in spans if s.get("tags"))
    details = re.search(r'<details class="tags">.*?</details>', row_of(tagged), re.S)
    assert all(f"<dt>{k}</dt><dd>{v}</dd>" in details.group(0) for k, v in tagged["tags"].items())
    assert '<a href="../">' in html  # back to the list
    assert "<script" not in html


def test_error_span_is_marked_red(collector) -> None:
    trace_id, spans = trace_of(f"svc-{uuid.uuid4().hex[:8]}", now_us(), error=True)
    post(collector, spans)
    sections = span_sections(http.get(f"{collector}/zipkin/traces/{trace_id}").text)
    assert 'class="span error"' in sections[spans[1]["id"]]
    assert 'class="span error"' not in sections[spans[0]["id"]]


def test_unknown_trace_is_a_404_page(collector) -> None:
    unknown = uuid.uuid4().hex
    response = http.get(f"{collector}/zipkin/traces/{unknown.upper()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f"{unknown}</code> not found" in response.text


def test_malformed_trace_id_is_a_400(collector) -> None:
    response = http.get(f"{collector}/zipkin/traces/not-hex")
    assert response.status_code == 400
    assert "not-hex should be lower-hex" in response.text


def test_index_lists_newest_first_with_working_links(collector) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    older, older_spans = trace_of(service, now_us() - 60_000_000, error=True)
    newer, newer_spans = trace_of(service, now_us())
    post(collector, older_spans + newer_spans)

    page = f"{collector}/zipkin/?serviceName={service}"
    response = http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    rows = re.findall(r'<tr class="trace( error)?">(.*?)</tr>', response.text, re.S)
    assert [re.search(r'href="traces/([0-9a-f]+)"', row).group(1) for _, row in rows] == [
        newer, older]
    (newer_error, newer_row), (older_error, older_row) = rows
    assert not newer_error and older_error
    assert f"<strong>{service}</strong> post /api/v1/orders" in newer_row
    assert "40.000 ms" in newer_row and re.search(r'class="num">2</td>', newer_row)
    assert re.search(r'class="num errors">1</td>', older_row)

    link = httpx.URL(page).join(f"traces/{newer}")
    followed = http.get(link)
    assert followed.status_code == 200 and f"Trace <code>{newer}</code>" in followed.text

    limited = http.get(f"{collector}/zipkin/", params={"serviceName": service, "limit": "1"})
    assert f"traces/{newer}" in limited.text and f"traces/{older}" not in limited.text
    narrow = http.get(f"{collector}/zipkin/", params={"serviceName": service, "lookback": "30000"})
    assert f"traces/{newer}" in narrow.text and f"traces/{older}" not in narrow.text


def test_index_without_slash_redirects_with_the_query(collector) -> None:
    response = http.get(f"{collector}/zipkin?limit=3")
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/zipkin/?limit=3"
    assert http.get(f"{collector}/zipkin/", params={"limit": "x"}).status_code == 400


def _log_line(ts_us: int, trace_id: str, span_id: str, event: str, level: str = "info") -> str:
    stamp = datetime.fromtimestamp(ts_us / 1e6, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"timestamp": stamp, "level": level, "service": "order", "event": event,
                       "logger": "services.order", "trace_id": trace_id, "span_id": span_id,
                       "trace_flags": "01"})


def test_log_lines_appear_under_their_span(tmp_path: Path) -> None:
    trace_id, spans = trace_of("order", now_us())
    root, child = spans[0], spans[1]
    other_trace = uuid.uuid4().hex
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "order.jsonl").write_text("\n".join([
        _log_line(root["timestamp"] + 1_000, trace_id, root["id"], "order received"),
        "{broken line",
        _log_line(child["timestamp"] + 2_000, trace_id, child["id"], "product lookup failed",
                  "error"),
        _log_line(root["timestamp"] + 3_000, other_trace, root["id"], "someone else's order"),
    ]) + "\n")
    process, url = start_collector(tmp_path)
    try:
        post(url, spans)
        response = http.get(f"{url}/zipkin/traces/{trace_id}")
    finally:
        stop_collector(process)
    assert response.status_code == 200
    sections = span_sections(response.text)
    assert "order received" in sections[root["id"]]
    assert "product lookup failed" not in sections[root["id"]]
    assert "product lookup failed" in sections[child["id"]]
    assert 'class="log error"' in sections[child["id"]]
    assert "someone else" not in response.text
