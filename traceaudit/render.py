"""The `orders` result as text: one document, rendered as table, JSON, CSV or Markdown.

`orders_doc` gathers everything a format shows (trace count, caller, hops, local work, async
work, operations, data-quality oddities); every renderer works with zero, one or many hops and
shows every part, so no format silently drops the oddities or the trace count.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable

import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from traceaudit.anomalies import anomaly_rows
from traceaudit.hops import OrderAnalysis, hop_table


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts (NaN → None, numpy scalars → Python)."""
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def orders_doc(analysis: OrderAnalysis, *, window: dict | None = None,
               async_rows: pd.DataFrame | None = None, by_operation: bool = False,
               report: str | None = None) -> dict:
    """Everything the `orders` command prints, as plain data."""
    if async_rows is None:
        from traceaudit.report import async_table  # the report imports this module

        async_rows = async_table(analysis)
    table = failing_first(hop_table(analysis))
    calls, local = table[table["type"] == "call"], table[table["type"] == "local"]
    traces = analysis.traces
    doc = {"window": window or {}, "service": analysis.service, "span": analysis.span,
           "caller": analysis.caller, "traces": len(traces),
           "order_p50_ms": _clean(traces["duration_us"].median() / 1000) if len(traces)
           else None,
           "outcomes": outcome_rows(analysis),
           "anomalies": analysis.anomalies, "hops": records(calls), "local": records(local),
           "async": records(async_rows),
           "report": report}
    if by_operation:
        doc["operations"] = records(operation_table(analysis))
    return doc


FAILING = 0.05  # a hop failing this share of its calls (5xx, unreachable) is ranked first


def failing_first(table: pd.DataFrame) -> pd.DataFrame:
    """Hops failing ≥ FAILING of their calls first (most failing first), then by critical path,
    so a hop whose calls fail — and so take little time — is not ranked below healthy ones."""
    if table.empty or "error_rate" not in table:
        return table
    rate = pd.to_numeric(table["error_rate"], errors="coerce").fillna(0.0)
    failing = (table["type"] == "call") & (rate >= FAILING)
    if not failing.any():
        return table
    key = pd.DataFrame({"local": table["type"] != "call", "ok": ~failing,
                        "rate": -rate.where(failing, 0.0), "rank": table["rank"]})
    out = table.loc[key.sort_values(["local", "ok", "rate", "rank"], kind="stable").index]
    out = out.reset_index(drop=True).assign(rank=range(1, len(out) + 1))
    note = out["note"].astype(object).where(out["note"].astype(bool), "")
    fails = [f"fails {r:.0%} of its calls" for r in pd.to_numeric(out["error_rate"],
                                                                 errors="coerce").fillna(0)]
    flagged = (out["type"] == "call") & (pd.to_numeric(out["error_rate"], errors="coerce")
                                         .fillna(0) >= FAILING)
    out["note"] = [f"{f}; {n}" if n else f if flag else n
                   for f, n, flag in zip(fails, note, flagged, strict=True)]
    return out


def outcome_rows(analysis: OrderAnalysis) -> list[dict]:
    """The operation's answers (root span status), most common first: outcome, traces, share."""
    from traceaudit.outcomes import order_outcomes

    counts = order_outcomes(analysis).value_counts()
    n = int(counts.sum())
    return [{"outcome": str(k), "traces": int(v), "share": v / n} for k, v in counts.items()]


def operation_table(analysis: OrderAnalysis) -> pd.DataFrame:
    """Inside each hop (and local work): critical-path ms per trace by service and span name."""
    cols = ["hop", "service", "operation", "spans", "cp_mean_ms", "hop_share"]
    spans = analysis.spans
    n = len(analysis.traces)
    if spans is None or not n:
        return pd.DataFrame(columns=cols)
    under = spans[(spans["root_row"] >= 0) & ~spans["asynchronous"]]
    g = under.groupby(["bucket", "service", "name"], observed=True, sort=False)["cp_us"]
    out = pd.DataFrame({"spans": g.size(), "cp_us": g.sum()}).reset_index()
    out.columns = ["hop", "service", "operation", "spans", "cp_us"]
    hop_total = out.groupby("hop", observed=True)["cp_us"].transform("sum")
    out["cp_mean_ms"] = out["cp_us"] / n / 1000
    out["hop_share"] = (out["cp_us"] / hop_total.where(hop_total > 0)).fillna(0.0)
    rank = hop_table(analysis).set_index("hop")["rank"]
    out["order"] = out["hop"].astype(object).map(rank).fillna(len(rank) + 1)
    out = out.sort_values(["order", "cp_us"], ascending=[True, False], kind="stable")
    return out[cols].astype({"hop": object, "service": object, "operation": object}) \
        .reset_index(drop=True)


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _title(doc: dict) -> str:
    caller = doc["caller"] or "?"
    return (f"{doc['traces']} traces of {doc['service']} {doc['span']!r}; "
            f"hops = calls of {caller}")


def _rows(doc: dict) -> list[dict]:
    return doc["hops"] + doc["local"]


HOP_COLUMNS = ["rank", "hop", "type", "calls", "traces_share", "cp_mean_ms", "cp_p50_ms",
               "cp_p95_ms", "cp_share", "on_cp_share", "client_p50_ms", "client_p95_ms",
               "server_p50_ms", "server_p95_ms", "network_p50_ms", "self_mean_ms",
               "error_rate", "client_error_rate", "note"]
OUTCOME_COLUMNS = ["outcome", "traces", "share"]
ASYNC_COLUMNS = ["service", "name", "spans", "p50_ms", "p95_ms", "after_order_share",
                 "after_order_p95_ms"]
OPERATION_COLUMNS = ["hop", "service", "operation", "spans", "cp_mean_ms", "hop_share"]
ANOMALY_COLUMNS = ["kind", "count", "examples", "meaning"]


def render_json(doc: dict) -> str:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | OPT_NAIVE).decode() + "\n"


OPT_NAIVE = orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY


def _csv_section(writer, rows: list[dict], columns: list[str]) -> None:
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def render_csv(doc: dict) -> str:
    """The hop table first (header always present), then `# section` blocks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    _csv_section(writer, _rows(doc), HOP_COLUMNS)
    sections = [("summary", [{"key": k, "value": doc[k]} for k in
                             ("service", "span", "caller", "traces", "order_p50_ms")],
                 ["key", "value"]),
                ("outcomes", doc.get("outcomes", []), OUTCOME_COLUMNS),
                ("anomalies", anomaly_rows(doc["anomalies"]), ANOMALY_COLUMNS),
                ("async", doc["async"], ASYNC_COLUMNS)]
    if "operations" in doc:
        sections.append(("operations", doc["operations"], OPERATION_COLUMNS))
    for name, rows, columns in sections:
        out.write(f"\n# {name}\n")
        _csv_section(writer, rows, columns)
    return out.getvalue()


def _md_table(rows: list[dict], columns: list[str]) -> str:
    def cell(value) -> str:
        return _fmt(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def frame_csv(frame: pd.DataFrame) -> str:
    """Any table as CSV, header always present."""
    out = io.StringIO()
    _csv_section(csv.writer(out, lineterminator="\n"), records(frame), list(frame.columns))
    return out.getvalue()


def frame_markdown(frame: pd.DataFrame) -> str:
    """Any table as a Markdown table."""
    return _md_table(records(frame), list(frame.columns))


def render_markdown(doc: dict) -> str:
    parts = [f"**{_title(doc)}**", ""]
    if not doc["hops"]:
        parts += [f"_No hops: {doc['caller'] or 'the operation'} calls nothing under it._", ""]
    parts += [_md_table(_rows(doc), HOP_COLUMNS), ""]
    if doc.get("outcomes"):
        parts += [f"Answers: {_answers(doc)}", ""]
    if "operations" in doc:
        parts += ["### Operations inside each hop", "",
                  _md_table(doc["operations"], OPERATION_COLUMNS), ""]
    parts += ["### Asynchronous work (outside the latency)", ""]
    parts += [_md_table(doc["async"], ASYNC_COLUMNS) if doc["async"] else "None seen.", ""]
    parts += ["### Data quality", ""]
    rows = anomaly_rows(doc["anomalies"])
    parts += [_md_table(rows, ANOMALY_COLUMNS) if rows else "No oddities found.", ""]
    return "\n".join(parts)


def _answers(doc: dict) -> str:
    return ", ".join(f"{o['outcome']} {o['share']:.0%}" for o in doc.get("outcomes", []))


_RICH_COLUMNS = [("rank", "#", "{}"), ("hop", "hop", "{}"), ("calls", "calls", "{}"),
                 ("error_rate", "errors", "{:.1%}"), ("client_error_rate", "4xx", "{:.1%}"),
                 ("cp_mean_ms", "crit. path ms", "{:.2f}"), ("cp_p50_ms", "cp p50", "{:.2f}"),
                 ("cp_p95_ms", "cp p95", "{:.2f}"), ("cp_share", "share", "{:.1%}"),
                 ("on_cp_share", "on CP", "{:.0%}"), ("client_p50_ms", "client p50", "{:.2f}"),
                 ("client_p95_ms", "client p95", "{:.2f}"),
                 ("server_p50_ms", "server p50", "{:.2f}"),
                 ("network_p50_ms", "net p50", "{:.2f}"), ("self_mean_ms", "self ms", "{:.2f}"),
                 ("note", "note", "{}")]


def render_table(doc: dict, width: int | None = 200) -> str:
    """A rich table with the oddities as a footer (plain text, no colour codes)."""
    console = Console(width=width, file=io.StringIO(), force_terminal=False, no_color=True)
    if not doc["traces"]:
        console.print(f"no traces with a {doc['service']!r} span named {doc['span']!r}",
                      markup=False, highlight=False)
    else:
        out = Table(title=Text(_title(doc)))
        for _, header, _ in _RICH_COLUMNS:
            out.add_column(header, justify="left" if header in ("hop", "note") else "right")
        for row in _rows(doc):
            out.add_row(*[Text("" if row.get(k) is None else fmt.format(row[k]))
                          for k, _, fmt in _RICH_COLUMNS],
                        style="dim" if row["type"] == "local" else None)
        console.print(out)
        if doc.get("outcomes"):
            console.print(f"answers: {_answers(doc)}", markup=False, highlight=False)
        if not doc["hops"]:
            console.print(f"no hops: {doc['caller'] or 'the operation'} calls nothing",
                          markup=False, highlight=False)
    if doc.get("operations"):
        ops = Table(title="operations inside each hop")
        for col in OPERATION_COLUMNS:
            ops.add_column(col, justify="left" if col in ("hop", "service", "operation")
                           else "right")
        for r in doc["operations"]:
            ops.add_row(*map(Text, (str(r["hop"]), str(r["service"]), str(r["operation"]),
                                    str(r["spans"]), f"{r['cp_mean_ms']:.2f}",
                                    f"{r['hop_share']:.0%}")))
        console.print(ops)
    if doc["async"]:
        console.print("async (outside the latency): " + ", ".join(
            f"{a['service']} {a['name']!r} p95 {a['p95_ms']:.2f} ms" for a in doc["async"]),
            markup=False, highlight=False)
    rows = anomaly_rows(doc["anomalies"])
    if rows:
        console.print("oddities:")
        for r in rows:
            eg = f" (e.g. {r['examples']})" if r["examples"] else ""
            console.print(f"  {r['kind']}: {r['count']}{eg} — {r['meaning']}",
                          markup=False, highlight=False)
    else:
        console.print("no oddities found")
    return console.file.getvalue()


RENDERERS: dict[str, Callable[[dict], str]] = {
    "table": render_table, "json": render_json, "csv": render_csv,
    "markdown": render_markdown,
}


def render(doc: dict, fmt: str) -> str:
    """The document in one of RENDERERS' formats."""
    return RENDERERS[fmt](doc)
