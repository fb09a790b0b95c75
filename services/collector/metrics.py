"""Prometheus metrics of the collector (names after Zipkin's own `zipkin_collector_*`)."""

from prometheus_client import Counter, Gauge

SPANS_ACCEPTED = Counter(
    "collector_spans_accepted_total", "Spans decoded and stored", ["transport"]
)
SPANS_DROPPED = Counter(
    "collector_spans_dropped_total",
    "Spans accepted but not kept: duplicate, storage error, or removed by retention",
    ["reason"],
)
SPANS_REJECTED = Counter(
    "collector_spans_rejected_total", "Spans in request bodies refused with 400", ["transport"]
)
MESSAGES_REJECTED = Counter(
    "collector_messages_rejected_total", "Request bodies refused with 400", ["transport"]
)
SPANS_STORED = Gauge("collector_spans_stored", "Spans in the store now")
BYTES_IN_FLIGHT = Gauge(
    "collector_bytes_in_flight", "Request body bytes held now (COLLECTOR_MAX_IN_FLIGHT_BYTES)"
)
MESSAGES_REFUSED = Counter(
    "collector_messages_refused_total",
    "Requests refused before their spans were read (size, type, origin, load)",
    ["reason"],
)
SPAN_TAGS_CAPPED = Counter(
    "collector_span_tags_capped", "Tags dropped or truncated by the per-span tag caps"
)
