"""Zipkin v2 spans: decode a POSTed JSON list and normalise each span as the Zipkin server does.

The rules follow zipkin2's `V2SpanReader` and `Span.Builder`: ids are lower-hex and left-padded,
names are lower-cased, `timestamp`/`duration` <= 0 are absent, `debug`/`shared` are kept only
when true (`shared` never on a CLIENT), annotations are sorted and de-duplicated, tags sorted,
unknown fields and JSON nulls ignored. Output dicts have the field order of `V2SpanWriter`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

import orjson

from traceaudit import ids

KINDS = frozenset(ids.KINDS)
_HEX = frozenset("0123456789abcdef")
_MAX_INT64 = 2**63 - 1
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", re.ASCII)
_HEX16 = re.compile(r"[0-9a-f]{16}")
_CANONICAL_SPAN_ID = re.compile(r"(?!0{16})[0-9a-f]{16}")
_CANONICAL_TRACE_ID = re.compile(r"(?!0{16})[0-9a-f]{16}(?:[0-9a-f]{16})?")  # non-zero high half
_ZERO_ID = "0" * 16


class SpanError(ValueError):
    """A span or body the Zipkin server would refuse with 400; the message is the reason."""

    #: spans in the refused body, when it could be read as a list
    span_count: int = 0


def decode_json(body: bytes, max_spans: int | None = None) -> list[dict[str, Any]]:
    """Decode a JSON v2 span list into normalised spans; all or nothing.

    With `max_spans`, a longer list is refused (413) before any span object is built.
    """
    if not body or body == b"[]":
        return []
    if body[:1] != b"[":
        raise SpanError("Expected a JSON_V2 encoded list")
    if b'yAnnotations"' in body:
        raise SpanError("Expected a JSON_V2 encoded list, but received: JSON_V1")
    if max_spans is not None:
        from services.collector.limits import check_json_batch

        check_json_batch(body, max_spans)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SpanError(f"Malformed reading List<Span> from json: {exc}") from None
    return normalise_all(raw)


def normalise_all(raw: Any) -> list[dict[str, Any]]:
    """Normalise a decoded list of span objects; the first bad span fails the whole list."""
    if not isinstance(raw, list):
        raise SpanError("Expected a JSON_V2 encoded list")
    spans = []
    for index, item in enumerate(raw):
        try:
            spans.append(normalise(item))
        except SpanError as exc:
            error = SpanError(f"{exc} at $[{index}]")
            error.span_count = len(raw)
            raise error from None
    return spans


def normalise(raw: Any) -> dict[str, Any]:
    """One span in Zipkin's canonical form (field order of V2SpanWriter, absent fields omitted).

    Well-formed input takes the inline fast paths; anything else goes through the checks that
    produce Zipkin's reasons.
    """
    if type(raw) is not dict:
        raise SpanError("Expected a span object")
    get = raw.get
    trace_id, span_id = get("traceId"), get("id")
    if trace_id is None:
        raise SpanError("Incomplete span: traceId is required")
    if span_id is None:
        raise SpanError("Incomplete span: id is required")
    if type(trace_id) is not str or not _CANONICAL_TRACE_ID.fullmatch(trace_id):
        trace_id = normalise_trace_id(_string(raw, "traceId"))
    if type(span_id) is not str or not _CANONICAL_SPAN_ID.fullmatch(span_id):
        span_id = _span_id(_string(raw, "id"), "id")
    span: dict[str, Any] = {"traceId": trace_id}
    parent_id = get("parentId")
    if parent_id is not None:
        if type(parent_id) is not str or not _HEX16.fullmatch(parent_id):
            parent_id = _span_id(_string(raw, "parentId"), "parentId", allow_zero=True)
        if parent_id != _ZERO_ID and parent_id != span_id:
            span["parentId"] = parent_id
    span["id"] = span_id
    kind = get("kind")
    if kind is not None:
        if type(kind) is not str or kind not in KINDS:
            raise SpanError(f"kind {kind!r} is not one of CLIENT, SERVER, PRODUCER, CONSUMER")
        span["kind"] = kind
    name = get("name")
    if name is not None:
        if type(name) is not str:
            raise SpanError("Expected a string at name")
        if name:
            span["name"] = name.lower()
    for field in ("timestamp", "duration"):
        value = get(field)
        if value is not None:
            if type(value) is not int or not 0 < value <= _MAX_INT64:
                value = _int(raw, field)
            if value > 0:
                span[field] = value
    for field in ("localEndpoint", "remoteEndpoint"):
        value = get(field)
        if value is not None:
            endpoint = _endpoint(value, field)
            if endpoint:
                span[field] = endpoint
    annotations = get("annotations")
    if annotations:
        span["annotations"] = _annotations(annotations)
    elif annotations is not None and annotations != []:
        _annotations(annotations)  # raises the reason
    tags = get("tags")
    if tags:
        span["tags"] = _tags(tags)
    elif tags is not None and tags != {}:
        _tags(tags)  # raises the reason
    if _bool(raw, "debug"):
        span["debug"] = True
    if _bool(raw, "shared") and kind != "CLIENT":
        span["shared"] = True
    return span


def normalise_trace_id(value: str) -> str:
    """Lower-hex, 1..32 chars, left-padded to 16 or 32; a zero high half is dropped (the rule
    lives in `traceaudit.ids`; here a bad id is refused with Zipkin's reason)."""
    _check_hex(value, "traceId", 32)
    normal = ids.normalize_trace_id(value)
    if normal is None:
        raise SpanError("traceId is all zeros")
    return normal


def _span_id(value: str, field: str, allow_zero: bool = False) -> str:
    _check_hex(value, field, 16)
    normal = ids.normalize_span_id(value)
    if normal is None:
        if not allow_zero:
            raise SpanError(f"{field} is all zeros")
        return _ZERO_ID
    return normal


def _check_hex(value: str, field: str, max_length: int) -> None:
    if not value:
        raise SpanError(f"{field} is empty")
    if len(value) > max_length:
        raise SpanError(f"{field}.length > {max_length}")
    if not _HEX.issuperset(value):
        raise SpanError(f"{value} should be lower-hex encoded with no prefix")


def _string(raw: dict[str, Any], field: str) -> str:
    value = raw[field]
    if not isinstance(value, str):
        raise SpanError(f"Expected a string at {field}")
    return value


def _int(raw: dict[str, Any], field: str) -> int | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpanError(f"Expected a number at {field}")
    if not -_MAX_INT64 - 1 <= value <= _MAX_INT64:
        raise SpanError(f"{field} out of range of a long")
    return value


def _bool(raw: dict[str, Any], field: str) -> bool:
    value = raw.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SpanError(f"Expected a boolean at {field}")
    return value


def _endpoint(raw: Any, field: str) -> dict[str, Any]:
    """The normalised endpoint; shared between spans with the same one, so never mutate it."""
    if not isinstance(raw, dict):
        raise SpanError(f"Expected an object at {field}")
    try:
        # types are part of the key: True == 1 and 1.0 == 1 must not share an entry
        return _cached_endpoint(tuple(raw.items()), tuple(map(type, raw.values())))
    except TypeError:  # an unhashable value: not an endpoint we can cache, nor a valid one
        return _parse_endpoint(raw)


@lru_cache(maxsize=4096)
def _cached_endpoint(items: tuple[tuple[str, Any], ...], types: tuple[type, ...]) -> dict[str, Any]:
    return _parse_endpoint(dict(items))


def _parse_endpoint(raw: dict[str, Any]) -> dict[str, Any]:
    endpoint: dict[str, Any] = {}
    service = raw.get("serviceName")
    if service is not None:
        service = _string(raw, "serviceName")
        if service:
            endpoint["serviceName"] = service.lower()
    for key in ("ipv4", "ipv6"):
        if raw.get(key) is not None:
            _put_ip(endpoint, _string(raw, key))
    port = _int(raw, "port")
    if port is not None:
        if port > 65535:
            raise SpanError(f"invalid port {port}")
        if port > 0:
            endpoint["port"] = port
    return {k: endpoint[k] for k in ("serviceName", "ipv4", "ipv6", "port") if k in endpoint}


def _put_ip(endpoint: dict[str, Any], text: str) -> None:
    """Zipkin parses both ip keys alike; an unreadable address is dropped, not refused.

    IPv4 text is kept as sent (real Zipkin data has octets like `04`); IPv6 is written in its
    canonical form, or as IPv4 when it embeds one.
    """
    if _IPV4.fullmatch(text) and all(int(octet) <= 255 for octet in text.split(".")):
        endpoint["ipv4"] = text
        return
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return
    embedded = address.ipv4_mapped or _ipv4_compatible(address)
    if embedded is None:
        endpoint["ipv6"] = address.compressed
    else:
        endpoint["ipv4"] = str(embedded)


def _ipv4_compatible(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    packed = address.packed
    if packed[:12] == bytes(12) and packed[12:] != bytes(4) and packed[12:] != b"\0\0\0\1":
        return ipaddress.IPv4Address(packed[12:])
    return None


def _annotations(raw: Any) -> list[dict[str, Any]]:
    if type(raw) is not list:
        raise SpanError("Expected a list at annotations")
    seen = set()
    for index, item in enumerate(raw):
        timestamp = item.get("timestamp") if type(item) is dict else None
        value = item.get("value") if timestamp is not None else None
        if value is None:
            raise SpanError(f"Incomplete annotation at annotations[{index}]")
        if type(timestamp) is not int:
            timestamp = _int(item, "timestamp")
        if timestamp <= 0:  # as Zipkin's decoder: an annotation needs its moment
            raise SpanError(f"Incomplete annotation at annotations[{index}]")
        if type(value) is not str:
            raise SpanError(f"Expected a string at annotations[{index}].value")
        seen.add((timestamp, value))
    return [{"timestamp": ts, "value": value} for ts, value in sorted(seen)]


def _tags(raw: Any) -> dict[str, str]:
    if type(raw) is not dict:
        raise SpanError("Expected an object at tags")
    tags = {}
    for key in sorted(raw):
        value = raw[key]
        if type(value) is str:
            tags[key] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            tags[key] = orjson.dumps(value).decode()
        else:
            raise SpanError(f"No value at tags.{key}")
    return tags
