"""Jaeger and OTLP JSON files straight into a `SpansBuilder`, without Zipkin dicts between.

msgspec decodes each document into typed structs (only the fields the spans frame reads; the
rest is skipped without making objects), and each span becomes the builder's own span struct,
with its endpoints and analysis tags made once per distinct value. A document of another shape
(base64 ids, odd types) goes through the dict converter (`_convert`), which gives the same spans.
"""

from __future__ import annotations

import mmap
from typing import Any

import msgspec

from traceaudit.ids import foreign_id, kind_name, normalize_trace_id, status_name
from traceaudit.sources._convert import (
    ConvertError,
    group_traces,
    jaeger_spans,
    jaeger_traces,
    otlp_spans,
)

# the tags the spans frame reads (spans._Tags), by their tag names
_WANTED = ("error", "peer.service", "messaging.system", "db.system", "http.status_code",
           "http.response.status_code", "rpc.grpc.status_code", "otel.status_code")
_TAG_FIELDS = ("error", "peer_service", "messaging_system", "db_system", "http_status_code",
               "http_response_status_code", "rpc_grpc_status_code", "otel_status_code")
_PEER_NAME = ("peer.service", "service.peer.name")
_ZERO16 = "0" * 16


# ---------------------------------------------------------------- OTLP JSON


_NO_RAW = msgspec.Raw(b"")  # absent (msgspec.Raw cannot be in a union with None)


class _Status(msgspec.Struct, gc=False):
    code: int | str | None = None
    message: str | None = None


class _OSpan(msgspec.Struct, gc=False):
    traceId: str = ""
    spanId: str = ""
    parentSpanId: str = ""
    name: str = ""
    kind: int | str = 0
    startTimeUnixNano: int = 0
    endTimeUnixNano: int = 0
    attributes: msgspec.Raw = _NO_RAW  # read once per distinct list (see _Maker)
    status: msgspec.Raw = _NO_RAW


class _Scope(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None


class _ScopeSpans(msgspec.Struct, gc=False):
    scope: _Scope | None = None
    instrumentationLibrary: _Scope | None = None
    spans: list[_OSpan] = []


class _ResourceSpans(msgspec.Struct, gc=False):
    resource: msgspec.Raw = _NO_RAW
    scopeSpans: list[_ScopeSpans] = []
    instrumentationLibrarySpans: list[_ScopeSpans] = []


class _OtlpDoc(msgspec.Struct, gc=False):
    resourceSpans: list[_ResourceSpans] | None = None
    batches: list[_ResourceSpans] | None = None
    trace: msgspec.Raw = _NO_RAW  # Tempo v2 {"trace": {...}}
    result: msgspec.Raw = _NO_RAW  # Jaeger api_v3 {"result": {...}}


_OTLP = msgspec.json.Decoder(_OtlpDoc, strict=False)  # strict=False: "123" is an int too
_STATUS = msgspec.json.Decoder(_Status, strict=False)
_EMPTY_RAW = b"[]"


class _Maker:
    """The builder's span structs, made with as little work a span as possible: what depends
    on a span's tags (kind, error, status, peer) is worked out once per distinct raw tag list."""

    def __init__(self, builder) -> None:
        from traceaudit.spans import _Endpoint, _Tags

        self.span_type = builder.span_type
        self.keep_tags = builder.keep_tags
        self.endpoint_type, self.tags_type = _Endpoint, _Tags
        self.endpoints: dict[str | None, Any] = {}
        self.tag_sets: dict[tuple, Any] = {}
        self.by_tags: dict[Any, tuple] = {}  # raw tag list (and what else shapes it) → shape
        self.traces: dict[str, list] = {}
        self.lists: list[list] = []  # traces already whole (Jaeger)

    def endpoint(self, service: str | None):
        found = self.endpoints.get(service)
        if found is None:
            found = self.endpoints[service] = self.endpoint_type(serviceName=service)
        return found

    def shape(self, kind: str | None, tags: dict[str, str]) -> tuple:
        """(kind, the span's tags value, remote endpoint) of a span's tags."""
        peer = tags.get("peer.service") or tags.get("service.peer.name")
        remote = self.endpoint(peer.lower() if peer and kind in ("CLIENT", "PRODUCER")
                               else None)
        if self.keep_tags:
            return kind, tags, remote
        values = tuple(tags.get(k) for k in _WANTED)
        found = self.tag_sets.get(values)
        if found is None:
            found = self.tag_sets[values] = self.tags_type(**dict(zip(_TAG_FIELDS, values,
                                                                      strict=True)))
        return kind, found, remote


def _otlp_attributes(raw: bytes) -> dict[str, str]:
    from traceaudit.sources._convert import _attributes

    return _attributes(msgspec.json.decode(raw)) if raw else {}


def _otlp_shape(maker: _Maker, s: _OSpan, scope: _Scope | None) -> tuple:
    attrs = bytes(s.attributes) or _EMPTY_RAW
    status = bytes(s.status)
    key = (attrs, status, s.kind, scope.name if scope else None,
           scope.version if scope else None)
    found = maker.by_tags.get(key)
    if found is None:
        tags = _otlp_attributes(attrs)
        if scope is not None and scope.name:
            tags["otel.scope.name"] = scope.name
            if scope.version:
                tags["otel.scope.version"] = scope.version
        if status:
            st = _STATUS.decode(status)
            code = status_name(st.code)
            if code:
                tags["otel.status_code"] = code
                if code == "ERROR" and "error" not in tags:
                    tags["error"] = st.message or ""
        kind = _KIND_INT.get(s.kind) if type(s.kind) is int else kind_name(s.kind)
        found = maker.by_tags[key] = maker.shape(kind, tags)
    return found


def _otlp_document(maker: _Maker, doc: _OtlpDoc) -> None:
    make, zero = maker.span_type, "0" * 16
    traces = maker.traces
    for rs in (doc.resourceSpans or doc.batches or ()):
        resource = msgspec.json.decode(rs.resource) if rs.resource else {}
        from traceaudit.sources._convert import _attributes

        service = _attributes(resource.get("attributes") if isinstance(resource, dict)
                              else None).get("service.name")
        local = maker.endpoint((service or "unknown_service").lower())
        for ss in rs.scopeSpans or rs.instrumentationLibrarySpans:
            scope = ss.scope or ss.instrumentationLibrary
            for s in ss.spans:
                tid, sid, pid = s.traceId, s.spanId, s.parentSpanId
                if len(tid) != 32 or tid.startswith(_ZERO16):
                    tid = _trace_id(foreign_id(tid, 16) or "")
                if len(sid) != 16:
                    sid = foreign_id(sid, 8) or ""
                if pid and len(pid) != 16:
                    pid = foreign_id(pid, 8) or ""
                if not tid or not sid:
                    continue
                kind, tags, remote = _otlp_shape(maker, s, scope)
                start, end = s.startTimeUnixNano, s.endTimeUnixNano
                start_us = start // 1000 if start > 0 else 0
                duration = (end // 1000 - start_us or 1) if start > 0 and end > start else 0
                span = make(tid, sid, pid or zero, kind, s.name, start_us, duration, False,
                            local, remote, tags)
                found = traces.get(tid)
                if found is None:
                    traces[tid] = [span]
                else:
                    found.append(span)


_KIND_INT = {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


# ---------------------------------------------------------------- Jaeger JSON


class _JRef(msgspec.Struct, gc=False):
    refType: str = ""
    traceID: str = ""
    spanID: str = ""


class _JProcess(msgspec.Struct, gc=False):
    serviceName: str = ""


class _JSpan(msgspec.Struct, gc=False):
    traceID: str = ""
    spanID: str = ""
    operationName: str = ""
    references: list[_JRef] = []
    startTime: int = 0
    duration: int = 0
    tags: msgspec.Raw = _NO_RAW  # read once per distinct list (see _Maker)
    processID: str = ""
    process: _JProcess | None = None
    parentSpanID: str = ""


class _JTrace(msgspec.Struct, gc=False):
    traceID: str = ""
    spans: list[_JSpan] = []
    processes: dict[str, _JProcess] = {}


class _JDoc(msgspec.Struct, gc=False):
    data: list[_JTrace]


# Typed in one pass: decoding `list[Raw]` first and each trace after read the file twice
# (0.6 s of 1.7 s at 528 MB). The price: every trace's structs are held at once (peak 1.3 →
# 1.9 GB there), freed trace by trace as the spans are built.
_JAEGER_ENVELOPE = msgspec.json.Decoder(_JDoc, strict=False)
_JAEGER_LIST = msgspec.json.Decoder(list[_JTrace], strict=False)


def _trace_id(value: str) -> str:
    """The trace id as the builder keys traces (so one trace is one list): lower-hex,
    64-bit when the high half is zero."""
    if len(value) == 32 and not value.startswith(_ZERO16):
        return value.lower()
    return normalize_trace_id(value) or ""


def _jtext(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


def _jaeger_shape(maker: _Maker, raw: bytes) -> tuple:
    found = maker.by_tags.get(raw)
    if found is None:
        decoded = msgspec.json.decode(raw)
        tags = {t["key"]: _jtext(t.get("value")) for t in
                (decoded if isinstance(decoded, list) else ())
                if isinstance(t, dict) and isinstance(t.get("key"), str)}
        kind = kind_name(tags.pop("span.kind", None))
        error = tags.pop("error", None)
        status = status_name(tags.get("otel.status_code"))
        if status:
            tags["otel.status_code"] = status
        if status == "ERROR":  # an error tag counts by its presence
            tags["error"] = tags.get("otel.status_description", "")
        elif error is not None:
            tags["error"] = error
        found = maker.by_tags[raw] = maker.shape(kind, tags)
    return found


def _jaeger_parent(s: _JSpan) -> str:
    """jaeger-ui's rule: the first CHILD_OF of this trace, else FOLLOWS_FROM, else the
    deprecated parentSpanID."""
    refs = s.references
    if len(refs) == 1 and refs[0].refType == "CHILD_OF" and refs[0].traceID == s.traceID:
        return refs[0].spanID
    mine = [r for r in refs if r.traceID.lstrip("0") == s.traceID.lstrip("0")]
    for wanted in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in mine:
            if ref.refType == wanted:
                return ref.spanID
    return s.parentSpanID


def _jaeger_trace(maker: _Maker, trace: _JTrace) -> None:
    make, zero, by_tags = maker.span_type, "0" * 16, maker.by_tags
    processes = {pid: maker.endpoint((p.serviceName or "unknown_service").lower())
                 for pid, p in trace.processes.items()}
    ids: dict[str, str] = {}  # raw trace id → normalised (one or two a trace)
    out: list = []
    append = out.append
    for s in trace.spans:
        raw_tid = s.traceID
        tid = ids.get(raw_tid)
        if tid is None:
            tid = ids[raw_tid] = _trace_id(raw_tid) if raw_tid.islower() or not raw_tid \
                else _trace_id(raw_tid.lower())
        if not tid or not s.spanID:
            continue
        raw = bytes(s.tags) or _EMPTY_RAW
        shape = by_tags.get(raw) or _jaeger_shape(maker, raw)
        local = processes.get(s.processID) or maker.endpoint(
            (s.process.serviceName if s.process is not None and s.process.serviceName
             else "unknown_service").lower())
        refs = s.references
        if len(refs) == 1 and refs[0].refType == "CHILD_OF" and refs[0].traceID == raw_tid:
            parent = refs[0].spanID
        else:
            parent = _jaeger_parent(s) if refs or s.parentSpanID else ""
        if parent == s.spanID:
            parent = ""
        append(make(tid, s.spanID, parent or zero, shape[0], s.operationName, s.startTime,
                    s.duration, False, local, shape[2], shape[1]))
    if out:
        maker.lists.append(out)


# ---------------------------------------------------------------- files


def add_file(builder, data: bytes | mmap.mmap, fmt: str) -> None:
    """Add every trace of a whole Jaeger (`fmt="jaeger"`) or OTLP JSON file to `builder`
    (its bytes, or the file mapped)."""
    maker = _Maker(builder)
    slow: list[dict] = []  # Zipkin dicts of documents of another shape
    if fmt == "jaeger":
        _add_jaeger(maker, data, slow)
    else:  # splits lines: bytes
        _add_otlp(maker, data if isinstance(data, bytes) else bytes(data), slow)
    _finish(builder, maker, slow)


def _finish(builder, maker: _Maker, slow: list[dict]) -> None:
    traces = maker.lists + list(maker.traces.values())
    if traces:
        builder.add(traces, decoded=True)
    if slow:
        builder.add(group_traces(slow))


def _add_otlp(maker: _Maker, data: bytes, slow: list[dict]) -> None:
    """A whole OTLP file in memory: one document, else one a line."""
    from traceaudit.sources.files import _otlp_documents

    try:
        _otlp_one(maker, _OTLP.decode(data), slow)
    except msgspec.ValidationError:  # one document of another shape: the dict converter
        slow.extend(s for doc in _otlp_documents(data) for s in otlp_spans(doc))
    except msgspec.DecodeError:  # several documents, one a line
        _otlp_lines(maker, iter(data.splitlines()), slow)


def _otlp_lines(maker: _Maker, lines, slow: list[dict], first: int = 1) -> None:
    """OTLP JSON Lines, each handled as it is read (the file is never held whole)."""
    for number, line in enumerate(lines, first):
        if not line.strip():
            continue
        try:
            doc: _OtlpDoc | bytes = _OTLP.decode(line)
        except msgspec.ValidationError:
            doc = bytes(line)
        except msgspec.DecodeError as exc:
            from traceaudit.sources.files import FileFormatError

            raise FileFormatError(f"line {number} is not valid JSON ({exc})") from None
        _otlp_one(maker, doc, slow)


def _otlp_one(maker: _Maker, doc: _OtlpDoc | bytes, slow: list[dict]) -> None:
    """One OTLP document: typed, or (`bytes`, of another shape) through the dict converter;
    Tempo's and Jaeger's wrappers unwrapped; other signals skipped."""
    from traceaudit.sources.files import _OTHER_SIGNALS

    pending = [doc]
    while pending:
        doc = pending.pop()
        if isinstance(doc, bytes):
            plain = msgspec.json.decode(doc)
            if isinstance(plain, dict) and any(k in plain for k in _OTHER_SIGNALS):
                continue
            slow.extend(otlp_spans(plain))
        elif doc.resourceSpans is None and doc.batches is None:
            inner = doc.trace or doc.result
            if inner:  # a wrapped document: unwrap it and go again
                try:
                    pending.append(_OTLP.decode(inner))
                except msgspec.ValidationError:
                    pending.append(bytes(inner))
            # else another signal (metrics, logs) or an empty document
        else:
            try:
                _otlp_document(maker, doc)
            except (TypeError, ValueError) as exc:
                raise ConvertError(f"an OTLP span of an unexpected shape ({exc})") from None


def add_otlp_stream(builder, stream) -> None:
    """An OTLP file from a binary stream: JSON Lines are read a line at a time; a document
    spread over several lines (pretty-printed) is read whole."""
    first = stream.readline()
    try:
        msgspec.json.decode(first)
    except msgspec.DecodeError:  # not one document a line
        add_file(builder, first + stream.read(), "otlp")
        return
    maker = _Maker(builder)
    slow: list[dict] = []
    _otlp_lines(maker, iter([first]), slow)
    _otlp_lines(maker, stream, slow, first=2)
    _finish(builder, maker, slow)


def _add_jaeger(maker: _Maker, data: bytes | mmap.mmap, slow: list[dict]) -> None:
    head = bytes(data[:4096]).lstrip()[:1]
    try:
        # a single trace object or an error envelope: the dict path says which
        traces: list = _JAEGER_LIST.decode(data) if head == b"[" \
            else _JAEGER_ENVELOPE.decode(data).data
    except (msgspec.ValidationError, msgspec.DecodeError):
        from traceaudit.sources.files import _load

        slow.extend(s for t in jaeger_traces(_load(bytes(data))) for s in jaeger_spans(t))
        return
    for i, trace in enumerate(traces):
        _jaeger_trace(maker, trace)
        traces[i] = None  # its structs freed as the frame's grow
