"""Dependency links of `/api/v2/dependencies`, derived from stored traces as Zipkin derives them.

Same rules as zipkin2's `Trace.merge` (merge fragments of one span, client first), `SpanNode`
(tree keyed by id, shared servers also by endpoint, headless spans under the root) and
`DependencyLinker` (links from the server side; a childless client or a kind-less span with both
endpoints links to its remote service; messaging links need the broker on both sides).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Span = dict[str, Any]
Link = tuple[str, str, bool]  # parent, child, is_error


def link_dependencies(traces: Iterable[list[Span]]) -> list[dict[str, Any]]:
    """`[{"parent", "child", "callCount", "errorCount"?}]` over all `traces`, first seen first."""
    calls: Counter[tuple[str, str]] = Counter()
    errors: Counter[tuple[str, str]] = Counter()
    for spans in traces:
        for parent, child, is_error in trace_links(spans):
            calls[parent, child] += 1
            if is_error:
                errors[parent, child] += 1
    links = []
    for (parent, child), count in calls.items():
        link = {"parent": parent, "child": child, "callCount": count}
        if errors[parent, child]:
            link["errorCount"] = errors[parent, child]
        links.append(link)
    return links


def trace_links(spans: list[Span]) -> list[Link]:
    """`(parent, child, is_error)` for every call in one trace (DependencyLinker.putTrace)."""
    if not spans:
        return []
    root = build_tree(merge(spans))
    found = []
    for node in root.breadth_first():
        span = node.span
        kind = span.get("kind")
        if kind == "CLIENT" and node.children:
            continue  # the server side will link it, with the server's name
        service = _service(span, "localEndpoint")
        remote = _service(span, "remoteEndpoint")
        if kind is None:
            if service is None or remote is None:
                continue
            kind = "CLIENT"
        if kind in ("SERVER", "CONSUMER"):
            parent, child = remote, service
            if node is root and parent is None:
                continue
        else:
            parent, child = service, remote
        is_error = "error" in span.get("tags", {})
        if kind in ("PRODUCER", "CONSUMER"):
            if parent is not None and child is not None:
                found.append((parent, child, is_error))
            continue
        ancestor = node.remote_ancestor()
        ancestor_name = _service(ancestor, "localEndpoint") if ancestor else None
        if ancestor is not None and ancestor_name is not None:
            if kind == "CLIENT" and service is not None and ancestor_name != service:
                found.append((ancestor_name, service, False))  # missing link to this client
            if kind == "SERVER" or parent is None:
                parent = ancestor_name
            if (
                not is_error
                and ancestor.get("kind") == "CLIENT"
                and span.get("parentId") is not None
                and span.get("parentId") == ancestor["id"]
            ):
                is_error = "error" in ancestor.get("tags", {})
        if parent is not None and child is not None:
            found.append((parent, child, is_error))
    return found


@dataclass(eq=False)
class Node:
    """A node of the trace tree; `span` is None for a synthetic root."""

    span: Span | None
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def add(self, child: Node) -> None:
        if child is not self:
            self.children.append(child)
            child.parent = self

    def breadth_first(self) -> Iterable[Node]:
        queue = deque(self.children if self.span is None else [self])
        while queue:
            node = queue.popleft()
            queue.extend(node.children)
            yield node

    def remote_ancestor(self) -> Span | None:
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.span is not None and ancestor.span.get("kind") is not None:
                return ancestor.span
            ancestor = ancestor.parent
        return None


def build_tree(spans: list[Span]) -> Node:
    """The trace tree of merged spans (SpanNode.Builder): first root wins, headless go under it."""
    span_to_parent: dict[Any, Any] = {}
    for span in spans:
        if span.get("shared"):
            span_to_parent[_key(span["id"], True, span.get("localEndpoint"))] = span["id"]
        else:
            span_to_parent[span["id"]] = span.get("parentId")
    root: Node | None = None
    key_to_node: dict[Any, Node] = {}
    for span in spans:
        endpoint = span.get("localEndpoint")
        shared = bool(span.get("shared"))
        key = _key(span["id"], shared, endpoint)
        no_endpoint_key = _key(span["id"], shared, None) if endpoint else key
        parent: Any = None
        if shared:
            parent = span["id"]
        elif span.get("parentId") is not None:
            parent = _key(span["parentId"], True, endpoint)
            if parent in span_to_parent:
                span_to_parent[no_endpoint_key] = parent
            else:
                parent = span["parentId"]
        node = Node(span)
        if parent is None and root is None:
            root = node
            span_to_parent.pop(no_endpoint_key, None)
        elif shared:
            key_to_node[key] = node
            key_to_node[no_endpoint_key] = node
        else:
            key_to_node[no_endpoint_key] = node
    if root is None:
        root = Node(None)
    for child_key, parent_key in span_to_parent.items():
        child = key_to_node.get(child_key)
        if child is None:
            continue
        parent_node = key_to_node.get(parent_key)
        (parent_node or root).add(child)
    return root


def merge(spans: list[Span]) -> list[Span]:
    """Merge fragments of one span and backfill `shared` on servers after clients (Trace.merge)."""
    if len(spans) <= 1 or len({s["id"] for s in spans}) == len(spans):
        return list(spans)  # nothing shares an id (all OTel traces): nothing to merge or backfill
    ordered = sorted(spans, key=_cleanup_order)
    trace_id = max((s["traceId"] for s in ordered), key=len)
    result: list[Span] = []
    index = 0
    while index < len(ordered):
        span = dict(ordered[index], traceId=trace_id)
        shared = bool(span.get("shared"))
        endpoint = _EndpointTracker()
        endpoint.try_merge(span.get("localEndpoint"))
        index += 1
        while index < len(ordered) and ordered[index]["id"] == span["id"]:
            following = ordered[index]
            if bool(following.get("shared")) != shared or not endpoint.try_merge(
                following.get("localEndpoint")
            ):
                break
            span = _merge_span(span, following)
            index += 1
        last = result[-1] if result else None
        if last is not None and last["id"] == span["id"]:
            if last.get("kind") == "CLIENT" and span.get("kind") == "SERVER" and not shared:
                shared = span["shared"] = True
            if shared and span.get("parentId") is None and last.get("parentId") is not None:
                span["parentId"] = last["parentId"]
        result.append(span)
    return result


def _merge_span(left: Span, right: Span) -> Span:
    """Fill what `left` lacks from `right` (Span.Builder.merge, for the fields links use)."""
    merged = dict(left)
    for key, value in right.items():
        if key in ("localEndpoint", "remoteEndpoint"):
            merged[key] = {**value, **merged.get(key, {})}
        elif key == "tags":
            merged[key] = {**merged.get(key, {}), **value}
        elif key == "annotations":
            both = {(a["timestamp"], a["value"]) for a in left.get(key, []) + value}
            merged[key] = [{"timestamp": ts, "value": text} for ts, text in sorted(both)]
        elif key not in merged:
            merged[key] = value
    return merged


class _EndpointTracker:
    """Endpoints of fragments of one span must not conflict to be merged."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def try_merge(self, endpoint: dict[str, Any] | None) -> bool:
        if not endpoint:
            return True
        for key, value in endpoint.items():
            if self.fields.get(key, value) != value:
                return False
        for key, value in endpoint.items():
            self.fields.setdefault(key, value)
        return True


def _cleanup_order(span: Span) -> tuple:
    """Sort by id; clients first, shared servers last; spans without endpoint first."""
    rank = 2 if span.get("shared") else 0 if span.get("kind") == "CLIENT" else 1
    endpoint = span.get("localEndpoint")
    if not endpoint:
        return (span["id"], rank, 0)
    parts = tuple(
        (endpoint.get(k) is None, endpoint.get(k) or "") for k in ("serviceName", "ipv4", "ipv6")
    )
    return (span["id"], rank, 1, parts)


def _key(span_id: str, shared: bool, endpoint: dict[str, Any] | None) -> Any:
    if not shared:
        return span_id
    frozen = tuple(sorted(endpoint.items())) if endpoint else None
    return (span_id, frozen)


def _service(span: Span, field: str) -> str | None:
    endpoint = span.get(field)
    return endpoint.get("serviceName") if endpoint else None
