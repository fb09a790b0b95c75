"""The one seam for reading traces: every command and the notebook go through a `TraceSource`.

A source hands out Zipkin v2 span dicts (conversion happens inside it, at the edge), so the
analysis never learns where the spans came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from traceaudit.window import Window

Progress = Callable[[int], None]  # traces read so far


class TraceNotFound(LookupError):
    """No trace with this id in the source."""


@runtime_checkable
class TraceSource(Protocol):
    """Where traces come from: Zipkin, Jaeger, Tempo or a file."""

    kind: str  # "zipkin", "jaeger", "tempo", "file"
    url: str  # the backend's base URL or the file's path (no credentials)
    cut_off: bool  # whether a query of the last walk was cut at its limit

    def iter_pages(self, window: Window, *, service: str | None = None,
                   span: str | None = None, limit: int = 1000,
                   progress: Progress | None = None) -> Iterator[list[list[dict]]]:
        """Pages of the window's traces (each a list of Zipkin v2 span dicts), each trace once,
        of those with a `service` span named `span` (either None: any)."""

    def trace(self, trace_id: str) -> list[dict]:
        """One trace's Zipkin v2 spans; `TraceNotFound` if there is none."""

    def services(self) -> list[str]:
        """The services the source knows."""

    def span_names(self, service: str) -> list[str]:
        """The span names of a service."""


def resolve_name(name: str | None, known: list[str]) -> str | None:
    """`name` as the backend spells it: Zipkin lower-cases names, Jaeger and Tempo keep them, so
    `post /api/v1/orders` is found as `POST /api/v1/orders` (exact spelling wins)."""
    if name is None or name in known:
        return name
    folded = [k for k in known if k.lower() == name.lower()]
    return folded[0] if folded else name


def trace_key(trace: list[dict]) -> str:
    """The low 64 bits of a trace's id (how Zipkin joins 64- and 128-bit forms)."""
    first = trace[0] if trace else {}
    return str(first.get("traceId", "")).lstrip("0")[-16:] if isinstance(first, dict) else ""
