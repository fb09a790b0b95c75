"""traceaudit: which hop of an operation costs the most time, from any Zipkin v2 API."""

from traceaudit.critical_path import critical_path, critical_path_sections, self_time
from traceaudit.diff import diff_table
from traceaudit.hops import OrderAnalysis, analyse, hop_table
from traceaudit.report import async_table, render_report
from traceaudit.skew import correct_skew
from traceaudit.spans import read_spans, spans_frame
from traceaudit.tree import Tree, build_tree
from traceaudit.zipkin import Window, ZipkinClient, ZipkinError, fetch_traces

__all__ = ["OrderAnalysis", "Tree", "Window", "ZipkinClient", "ZipkinError", "analyse",
           "async_table", "build_tree", "correct_skew", "critical_path",
           "critical_path_sections", "diff_table", "fetch_traces", "hop_table", "read_spans",
           "render_report", "self_time", "spans_frame"]
