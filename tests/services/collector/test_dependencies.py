"""Dependency links over the shared samples: the figures upstream's linker gives (research §11)."""

from __future__ import annotations

import json

import pytest

from services.collector.dependencies import build_tree, link_dependencies, merge
from services.collector.spans import normalise_all


def sample(zipkin_samples, name: str) -> list[dict]:
    return normalise_all(json.loads((zipkin_samples / name).read_text()))


@pytest.mark.parametrize(
    ("name", "links", "calls", "errors"),
    [
        ("smartthings-mobile-web-install.json", 32, 577, 1),
        ("smartthings-oauth-authorization.json", 12, 123, 1),
        ("yelp.json", 8, 17, 0),
        ("messaging2.json", 4, 5, 0),
        ("skew.json", 1, 1, 0),
    ],
)
def test_sample_link_totals(zipkin_samples, name: str, links: int, calls: int, errors: int) -> None:
    found = link_dependencies([sample(zipkin_samples, name)])
    assert len(found) == links
    assert sum(link["callCount"] for link in found) == calls
    assert sum(link.get("errorCount", 0) for link in found) == errors


def test_messaging_links_go_through_the_broker(zipkin_samples) -> None:
    found = link_dependencies([sample(zipkin_samples, "messaging2.json")])
    assert {(link["parent"], link["child"]): link["callCount"] for link in found} == {
        ("mobile-gateway", "auth-service"): 1,
        ("mobile-gateway", "transfer-service"): 2,
        ("transfer-service", "rabbitmq"): 1,
        ("rabbitmq", "notification-service"): 1,
    }


def test_shared_server_fragments_merge_like_zipkin(zipkin_samples) -> None:
    # research §11: 175 raw spans → 172 after Trace.merge; 1041 stay 1041
    assert len(merge(sample(zipkin_samples, "smartthings-oauth-authorization.json"))) == 172
    assert len(merge(sample(zipkin_samples, "smartthings-mobile-web-install.json"))) == 1041


def test_headless_spans_hang_under_the_root(zipkin_samples) -> None:
    root = build_tree(merge(sample(zipkin_samples, "messaging2.json")))
    assert root.span["localEndpoint"]["serviceName"] == "mobile-gateway"
    assert len(list(root.breadth_first())) == 11  # all spans, six of them headless


def test_error_tag_counts_and_both_sides_count_once() -> None:
    client = {
        "traceId": "1",
        "id": "2",
        "parentId": "1",
        "kind": "CLIENT",
        "localEndpoint": {"serviceName": "a"},
        "remoteEndpoint": {"serviceName": "b"},
    }
    server = {
        "traceId": "1",
        "id": "2",
        "parentId": "1",
        "kind": "SERVER",
        "shared": True,
        "localEndpoint": {"serviceName": "b"},
        "tags": {"error": ""},
    }
    root = {"traceId": "1", "id": "1", "kind": "SERVER", "localEndpoint": {"serviceName": "a"}}
    links = link_dependencies([normalise_all([root, client, server])])
    assert links == [{"parent": "a", "child": "b", "callCount": 1, "errorCount": 1}]
