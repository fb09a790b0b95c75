"""The collector's own OpenAPI 3.0 document, served at `/openapi.json`.

It describes what this collector does, written here from its code (the official Zipkin file is
third-party material kept outside the repository): the Zipkin v2 API under `/api/v2` (also under
`/zipkin/api/v2`) and the status codes each operation really answers (400, 413, 415, 403, 503
as text/plain with the reason). `GET /spans` lists span *names* (the official file says
spans). tests/services/collector/test_openapi.py drives the collector from this document
with schemathesis.
"""

from __future__ import annotations

from typing import Any

from traceaudit._version import __version__

HEX_ID = "^[0-9a-f]{16}$"
TRACE_ID = "^([0-9a-f]{16}|[0-9a-f]{32})$"

_TEXT = {"text/plain": {"schema": {"type": "string"}}}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": _TEXT}


def _json(description: str, ref: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _query(name: str, description: str, schema: dict[str, Any], *,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


_LONG = {"type": "integer", "format": "int64", "minimum": 1}
_NAME = {"type": "string", "minLength": 1, "maxLength": 64}
_BAD = _text("a parameter or body the collector refuses, with the reason")
_NAMES = _json("names, sorted", "ListOfStrings")

_SPAN_POST = {
    "summary": "Store spans (JSON v2; also accepted: application/x-protobuf, gzip encoded)",
    "operationId": "postSpans",
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ListOfSpans"}}}},
    "responses": {
        "202": {"description": "stored, all of the body or none of it"},
        "400": _BAD,
        "403": _text("an Origin header of a page not allowed to post spans"),
        "413": _text("a body, inflated body or batch over the limits"),
        "415": _text("a content type other than JSON or protobuf"),
        "503": _text("too many bytes in flight: retry later (Retry-After)"),
    },
}


def _api() -> dict[str, Any]:
    return {
        "/services": {"get": {
            "summary": "Service names", "operationId": "getServiceNames",
            "responses": {"200": _NAMES}}},
        "/spans": {
            "get": {
                "summary": "Span names of a service", "operationId": "getSpanNames",
                "parameters": [_query("serviceName", "the service", _NAME, required=True)],
                "responses": {"200": _NAMES, "400": _BAD}},
            "post": _SPAN_POST,
        },
        "/remoteServices": {"get": {
            "summary": "Remote service names of a service", "operationId": "getRemoteServices",
            "parameters": [_query("serviceName", "the service", _NAME, required=True)],
            "responses": {"200": _NAMES, "400": _BAD}}},
        "/traces": {"get": {
            "summary": "Traces whose spans match the query, newest first",
            "operationId": "getTraces",
            "parameters": [
                _query("serviceName", "a service of the trace", _NAME),
                _query("remoteServiceName", "a remote service of the trace", _NAME),
                _query("spanName", "a span name of the trace (`all`: any)", _NAME),
                _query("annotationQuery", "`key=value and key` on tags and annotations",
                       {"type": "string", "maxLength": 200}),
                _query("minDuration", "µs, at least", _LONG),
                _query("maxDuration", "µs, at most (with minDuration)", _LONG),
                _query("endTs", "ms since the epoch (default now)", _LONG),
                _query("lookback", "ms before endTs", _LONG),
                _query("limit", "traces at most", {"type": "integer", "minimum": 1,
                                                   "maximum": 1000}),
            ],
            "responses": {"200": _json("matching traces", "ListOfTraces"), "400": _BAD}}},
        "/trace/{traceId}": {"get": {
            "summary": "One trace", "operationId": "getTrace",
            "parameters": [{"name": "traceId", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": TRACE_ID}}],
            "responses": {"200": _json("its spans", "Trace"), "400": _BAD,
                          "404": _text("no trace with this id")}}},
        "/traceMany": {"get": {
            "summary": "Several traces by id", "operationId": "getTraceMany",
            "parameters": [_query("traceIds", "comma-separated trace ids (two or more)",
                                  {"type": "string", "minLength": 1}, required=True)],
            "responses": {"200": _json("the traces found", "ListOfTraces"), "400": _BAD}}},
        "/dependencies": {"get": {
            "summary": "Calls between services over a window", "operationId": "getDependencies",
            "parameters": [_query("endTs", "ms since the epoch", _LONG, required=True),
                           _query("lookback", "ms before endTs", _LONG)],
            "responses": {"200": _json("one link a pair of services", "DependencyLinks"),
                          "400": _BAD}}},
        "/autocompleteKeys": {"get": {
            "summary": "Tag keys offered for autocompletion", "operationId": "getAutocompleteKeys",
            "responses": {"200": _NAMES}}},
        "/autocompleteValues": {"get": {
            "summary": "Values seen for an autocompletion key",
            "operationId": "getAutocompleteValues",
            "parameters": [_query("key", "the tag key", _NAME, required=True)],
            "responses": {"200": _NAMES, "400": _BAD}}},
    }


_ENDPOINT = {
    "type": "object",
    "properties": {
        "serviceName": {"type": "string"},
        "ipv4": {"type": "string", "format": "ipv4"},
        "ipv6": {"type": "string", "format": "ipv6"},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
    },
}

_SCHEMAS: dict[str, Any] = {
    "ListOfStrings": {"type": "array", "items": {"type": "string"}},
    "Endpoint": _ENDPOINT,
    "Annotation": {
        "type": "object", "required": ["timestamp", "value"],
        "properties": {"timestamp": {"type": "integer", "format": "int64", "minimum": 1},
                       "value": {"type": "string"}},
    },
    "Tags": {"type": "object", "additionalProperties": {"type": "string"}},
    "Span": {
        "type": "object", "required": ["traceId", "id"],
        "properties": {
            "traceId": {"type": "string", "pattern": TRACE_ID},
            "id": {"type": "string", "pattern": HEX_ID},
            "parentId": {"type": "string", "pattern": HEX_ID},
            "name": {"type": "string"},
            "kind": {"type": "string",
                     "enum": ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"]},
            "timestamp": {"type": "integer", "format": "int64", "minimum": 1},
            "duration": {"type": "integer", "format": "int64", "minimum": 1},
            "debug": {"type": "boolean"},
            "shared": {"type": "boolean"},
            "localEndpoint": {"$ref": "#/components/schemas/Endpoint"},
            "remoteEndpoint": {"$ref": "#/components/schemas/Endpoint"},
            "annotations": {"type": "array",
                            "items": {"$ref": "#/components/schemas/Annotation"}},
            "tags": {"$ref": "#/components/schemas/Tags"},
        },
    },
    "ListOfSpans": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
    "Trace": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
    "ListOfTraces": {"type": "array", "items": {"$ref": "#/components/schemas/Trace"}},
    "DependencyLink": {
        "type": "object", "required": ["parent", "child", "callCount"],
        "properties": {"parent": {"type": "string"}, "child": {"type": "string"},
                       "callCount": {"type": "integer", "minimum": 1},
                       "errorCount": {"type": "integer", "minimum": 1}},
    },
    "DependencyLinks": {"type": "array",
                        "items": {"$ref": "#/components/schemas/DependencyLink"}},
}


def openapi_document() -> dict[str, Any]:
    """The document; its paths are relative to the server URL `/api/v2`."""
    paths = _api()
    return {
        "openapi": "3.0.3",
        "info": {"title": "traceaudit collector (Zipkin v2 compatible)", "version": __version__,
                 "description": __doc__.split("\n\n")[1].replace("\n", " ")},
        "servers": [{"url": "/api/v2"}],
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
