"""Zipkin's proto3 `ListOfSpans` (zipkin.proto), described in code since protoc is not at hand.

The descriptor mirrors `zipkin.proto3` field for field; decoding goes through the protobuf
runtime and then the same normalisation as JSON, so both encodings store the same spans.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from services.collector.limits import check_batch
from services.collector.spans import SpanError, normalise_all

_F = descriptor_pb2.FieldDescriptorProto
_KINDS = ("", "CLIENT", "SERVER", "PRODUCER", "CONSUMER")


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="traceaudit_zipkin.proto", package="zipkin.proto3", syntax="proto3"
    )

    def message(name: str, *fields: tuple, nested: tuple = ()) -> descriptor_pb2.DescriptorProto:
        msg = proto.message_type.add(name=name)
        msg.nested_type.extend(nested)
        for number, field_name, type_, *rest in fields:
            label = _F.LABEL_REPEATED if "repeated" in rest else _F.LABEL_OPTIONAL
            field = msg.field.add(name=field_name, number=number, type=type_, label=label)
            type_names = [r for r in rest if r != "repeated"]
            if type_names:
                field.type_name = type_names[0]
        return msg

    tags_entry = descriptor_pb2.DescriptorProto(name="TagsEntry")
    tags_entry.options.map_entry = True
    tags_entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    tags_entry.field.add(name="value", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    message(
        "Endpoint",
        (1, "service_name", _F.TYPE_STRING),
        (2, "ipv4", _F.TYPE_BYTES),
        (3, "ipv6", _F.TYPE_BYTES),
        (4, "port", _F.TYPE_INT32),
    )
    message("Annotation", (1, "timestamp", _F.TYPE_FIXED64), (2, "value", _F.TYPE_STRING))
    span = message(
        "Span",
        (1, "trace_id", _F.TYPE_BYTES),
        (2, "parent_id", _F.TYPE_BYTES),
        (3, "id", _F.TYPE_BYTES),
        (4, "kind", _F.TYPE_ENUM, ".zipkin.proto3.Span.Kind"),
        (5, "name", _F.TYPE_STRING),
        (6, "timestamp", _F.TYPE_FIXED64),
        (7, "duration", _F.TYPE_UINT64),
        (8, "local_endpoint", _F.TYPE_MESSAGE, ".zipkin.proto3.Endpoint"),
        (9, "remote_endpoint", _F.TYPE_MESSAGE, ".zipkin.proto3.Endpoint"),
        (10, "annotations", _F.TYPE_MESSAGE, ".zipkin.proto3.Annotation", "repeated"),
        (11, "tags", _F.TYPE_MESSAGE, ".zipkin.proto3.Span.TagsEntry", "repeated"),
        (12, "debug", _F.TYPE_BOOL),
        (13, "shared", _F.TYPE_BOOL),
        nested=(tags_entry,),
    )
    kind = span.enum_type.add(name="Kind")
    for number, name in enumerate(("SPAN_KIND_UNSPECIFIED", *_KINDS[1:])):
        kind.value.add(name=name, number=number)
    message("ListOfSpans", (1, "spans", _F.TYPE_MESSAGE, ".zipkin.proto3.Span", "repeated"))
    return proto


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())
ListOfSpans = message_factory.GetMessageClass(
    _pool.FindMessageTypeByName("zipkin.proto3.ListOfSpans")
)


def decode_proto(body: bytes, max_spans: int | None = None) -> list[dict[str, Any]]:
    """Decode a proto3 `ListOfSpans` into normalised spans; all or nothing (413 past
    `max_spans`)."""
    if not body:
        return []
    if len(body) < 2 or body[0] != 0x0A or body[1] == 0:
        raise SpanError("Expected a PROTO3 encoded list")
    message = ListOfSpans()
    try:
        message.ParseFromString(body)
    except DecodeError as exc:
        raise SpanError(f"Malformed reading List<Span> from proto3: {exc}") from None
    if max_spans is not None:
        check_batch(len(message.spans), max_spans)
    return normalise_all([_as_json(span) for span in message.spans])


def encode_proto(spans: list[dict[str, Any]]) -> bytes:
    """Encode v2 JSON-shaped spans as a proto3 `ListOfSpans` (for tests and benchmarks)."""
    message = ListOfSpans()
    for span in spans:
        out = message.spans.add()
        out.trace_id = bytes.fromhex(span["traceId"])
        out.id = bytes.fromhex(span["id"])
        if "parentId" in span:
            out.parent_id = bytes.fromhex(span["parentId"])
        if span.get("kind"):
            out.kind = _KINDS.index(span["kind"])
        out.name = span.get("name") or ""
        out.timestamp = span.get("timestamp") or 0
        out.duration = span.get("duration") or 0
        for field in ("localEndpoint", "remoteEndpoint"):
            endpoint = span.get(field)
            target = out.local_endpoint if field == "localEndpoint" else out.remote_endpoint
            if endpoint:
                target.service_name = endpoint.get("serviceName") or ""
                if endpoint.get("ipv4"):
                    target.ipv4 = bytes(int(octet) for octet in endpoint["ipv4"].split("."))
                if endpoint.get("ipv6"):
                    target.ipv6 = ipaddress.IPv6Address(endpoint["ipv6"]).packed
                target.port = endpoint.get("port") or 0
        for annotation in span.get("annotations", ()):
            out.annotations.add(timestamp=annotation["timestamp"], value=annotation["value"])
        out.tags.update(span.get("tags", {}))
        out.debug = bool(span.get("debug"))
        out.shared = bool(span.get("shared"))
    return message.SerializeToString()


def _as_json(span: Any) -> dict[str, Any]:
    """The JSON v2 shape of one proto span (zero values = absent, as in proto3)."""
    if len(span.trace_id) not in (8, 16):
        raise SpanError(f"trace_id has {len(span.trace_id)} bytes, expected 8 or 16")
    for field in ("id", "parent_id"):
        size = len(getattr(span, field))
        if size not in (0, 8) or (field == "id" and size == 0):
            raise SpanError(f"{field} has {size} bytes, expected 8")
    out: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "id": span.id.hex(),
        "parentId": span.parent_id.hex() or None,
        "kind": (_KINDS[span.kind] if span.kind < len(_KINDS) else str(span.kind)) or None,
        "name": span.name,
        "timestamp": span.timestamp,
        "duration": span.duration,
        "annotations": [{"timestamp": a.timestamp, "value": a.value} for a in span.annotations],
        "tags": dict(span.tags),
        "debug": span.debug,
        "shared": span.shared,
    }
    for field, name in (("local_endpoint", "localEndpoint"), ("remote_endpoint", "remoteEndpoint")):
        if span.HasField(field):
            out[name] = _endpoint(getattr(span, field))
    return out


def _endpoint(endpoint: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"serviceName": endpoint.service_name, "port": endpoint.port}
    if endpoint.ipv4:
        if len(endpoint.ipv4) != 4:
            raise SpanError("ipv4 should be 4 bytes")
        out["ipv4"] = str(ipaddress.IPv4Address(endpoint.ipv4))
    if endpoint.ipv6:
        if len(endpoint.ipv6) != 16:
            raise SpanError("ipv6 should be 16 bytes")
        out["ipv6"] = str(ipaddress.IPv6Address(endpoint.ipv6))
    return out
