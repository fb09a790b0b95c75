"""Secrets sent to the shop reach neither its logs nor the span store (on the test stack).

A request carries a password, a token, an API key, a secret, a card number and an e-mail in
its query string and an `Authorization` header; afterwards the collector's stored spans of its
trace and every log file of the stack are searched for each raw value.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fixtures.collector import wait_for_trace

pytestmark = pytest.mark.stack

SECRETS = {"password": "hunter2pw", "token": "t0k3nvalue", "api_key": "k3yvalue99",
           "secret": "s3cretvalue", "card": "4111111111111111",
           "email": "victim.x@example.com"}  # fmt: skip


def test_secrets_in_a_url_and_headers_are_masked_in_spans_and_logs(stack) -> None:
    response = httpx.get(f"{stack.gateway_url}/api/v1/products", params={"size": 1, **SECRETS},
                         headers={"Authorization": "Bearer b34rerv4lue"}, timeout=10)
    assert response.status_code == 200
    trace_id = response.headers["x-trace-id"]
    spans = wait_for_trace(stack.collector_url, trace_id,
                           lambda s: {"gateway", "product"} <= {x["localEndpoint"]["serviceName"]
                                                                for x in s})  # fmt: skip
    stored = httpx.get(f"{stack.collector_url}/api/v2/trace/{trace_id}").text
    assert "url.full" in stored or "url.query" in stored  # the URL was recorded, masked
    raw = [*SECRETS.values(), "victim.x%40example.com", "b34rerv4lue"]
    for secret in raw:
        assert secret not in stored, f"{secret} reached the span store"
    time.sleep(0.5)  # log lines are flushed per line; give the access line a moment
    logs = "".join(path.read_text(errors="replace")
                   for path in (stack.var_dir / "log").glob("*.jsonl"))  # fmt: skip
    assert trace_id in logs  # the request was logged
    for secret in raw:
        assert secret not in logs, f"{secret} reached a log"
    assert len(spans) >= 2
