"""The one masking rule set, on text, on span attributes, and through the Zipkin encoder."""

from __future__ import annotations

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from services.common._zipkin import encode
from services.common.masking import MASK, MaskingExporter, mask_attributes, mask_text

URL = ("http://127.0.0.1:8222/api/v1/orders?password=hunter2&token=t0k3n&api_key=k3y"
       "&secret=s3&card=4111111111111111&email=victim%40example.com&page=2")
RAW = ("hunter2", "t0k3n", "k3y", "s3&", "4111111111111111", "victim")


def test_a_url_keeps_its_shape_and_loses_its_secrets() -> None:
    masked = mask_text(URL)
    for secret in RAW:
        assert secret not in masked, secret
    assert masked.startswith("http://127.0.0.1:8222/api/v1/orders?password=***&token=***")
    assert "card=***1111" in masked and "email=***@example.com" in masked
    assert masked.endswith("&page=2")


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
    ('{"apiKey": "zzz"}', '{"apiKey": "***"}'),
    ("mail bob@example.org now", "mail ***@example.org now"),
    ("card 4111 1111 1111 1111 ok", "card ***1111 ok"),
    ("order 1234567890123 (not Luhn)", "order 1234567890123 (not Luhn)"),
    ("GET /api/v1/products/7", "GET /api/v1/products/7"),
])  # fmt: skip
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_attributes_are_copied_only_when_something_is_masked() -> None:
    clean = {"http.request.method": "GET", "url.path": "/api/v1/orders", "http.status": 200}
    assert mask_attributes(clean) is None
    masked = mask_attributes({**clean, "url.full": URL, "http.request.header.authorization":
                              ("Basic xyz",)})  # fmt: skip
    assert masked is not None
    assert masked["http.request.header.authorization"] == MASK
    assert "hunter2" not in masked["url.full"]
    assert masked["url.path"] == "/api/v1/orders"


class Keep(SpanExporter):
    def __init__(self) -> None:
        self.body = b""

    def export(self, spans) -> SpanExportResult:
        self.body += encode(spans)
        return SpanExportResult.SUCCESS


def test_exported_spans_carry_no_secret() -> None:
    kept = Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(MaskingExporter(kept)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("GET", attributes={"url.full": URL}) as span:
        span.add_event("retry", {"detail": "password=hunter2"})
    with tracer.start_as_current_span("plain", attributes={"url.path": "/x"}):
        pass
    provider.shutdown()
    for secret in RAW:
        assert secret.encode() not in kept.body, secret
    spans = orjson.loads(kept.body.replace(b"][", b","))
    assert spans[0]["tags"]["url.full"] == mask_text(URL)
    assert spans[1]["tags"]["url.path"] == "/x"
