"""Jaeger and OTLP JSON files straight into a `SpansBuilder`."""

from __future__ import annotations

from traceaudit.sources._convert import group_traces, jaeger_spans, jaeger_traces, otlp_spans


def add_file(builder, data: bytes, fmt: str) -> None:
    """Add every trace of a whole Jaeger (`fmt="jaeger"`) or OTLP JSON file to `builder`."""
    from traceaudit.sources.files import _load, _otlp_documents

    if fmt == "jaeger":
        builder.add([jaeger_spans(t) for t in jaeger_traces(_load(data))])
    else:
        builder.add(group_traces(s for doc in _otlp_documents(data) for s in otlp_spans(doc)))
