"""The collector's own OpenAPI document (/openapi.json), and schemathesis driving the running
collector from it: no 5xx, every status code, content type and response body as documented.
Runs always (the official Zipkin file, when present, drives test_contract.py too)."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.collector.openapi import openapi_document

# Loaded at import: schemathesis' lazy `from_fixture` breaks on pytest 9 ('_nodeid').
schema = schemathesis.openapi.from_dict(openapi_document())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_collector_serves_its_document(collector: str) -> None:
    response = httpx.get(f"{collector}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document()
    paths = set(response.json()["paths"])
    assert {"/spans", "/traces", "/trace/{traceId}", "/dependencies"} <= paths


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_collector_honours_its_own_document(case, collector: str) -> None:
    case.call_and_validate(base_url=f"{collector}/api/v2", checks=CHECKS)
