"""traceaudit: which hop of an operation costs the most time, from any Zipkin v2 API.

The names below load on first use (PEP 562), so `import traceaudit` and the CLI's `--help` do
not pay for pandas and plotly.
"""

from __future__ import annotations

import sys
from types import ModuleType

from traceaudit._version import __version__

# typing and importlib are not imported: `logcorr grep` starts through this package (its ids)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from traceaudit.critical_path import critical_path, critical_path_sections, self_time
    from traceaudit.diff import diff_table
    from traceaudit.hops import OrderAnalysis, analyse, hop_table
    from traceaudit.report import async_table, render_report
    from traceaudit.skew import correct_skew
    from traceaudit.sources import load_spans, open_source
    from traceaudit.spans import read_spans, spans_frame
    from traceaudit.tree import Tree, build_tree
    from traceaudit.window import Window
    from traceaudit.zipkin import ZipkinClient, ZipkinError, fetch_traces

_HOME = {
    "critical_path": "critical_path", "critical_path_sections": "critical_path",
    "self_time": "critical_path", "diff_table": "diff", "OrderAnalysis": "hops",
    "analyse": "hops", "hop_table": "hops", "async_table": "report", "render_report": "report",
    "correct_skew": "skew", "read_spans": "spans", "spans_frame": "spans", "Tree": "tree",
    "build_tree": "tree", "Window": "window", "ZipkinClient": "zipkin",
    "ZipkinError": "zipkin", "fetch_traces": "zipkin", "open_source": "sources",
    "load_spans": "sources",
}

__all__ = ["OrderAnalysis", "Tree", "Window", "ZipkinClient", "ZipkinError", "__version__",
           "analyse", "async_table", "build_tree", "correct_skew", "critical_path",
           "critical_path_sections", "diff_table", "fetch_traces", "hop_table", "load_spans",
           "open_source", "read_spans",
           "render_report", "self_time", "spans_frame"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'traceaudit' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"traceaudit.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


class _Package(ModuleType):
    """`traceaudit.critical_path` is the function, as when the package imported it eagerly:
    importing the submodule of the same name must not replace it."""

    @property
    def critical_path(self) -> Any:
        from traceaudit.critical_path import critical_path

        return critical_path

    @critical_path.setter
    def critical_path(self, module: ModuleType) -> None:
        pass  # the import system sets the submodule here; sys.modules keeps it


sys.modules[__name__].__class__ = _Package
