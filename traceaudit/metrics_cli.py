"""`traceaudit metrics`: the Grafana dashboards' panels from Prometheus, as a table or HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # loaded in the command: `traceaudit --help` needs neither pandas nor plotly
    from rich.table import Table

    from traceaudit import metrics


@click.command("metrics")
@click.option("--prometheus", "prometheus_url", default="http://127.0.0.1:9090",
              show_default=True, envvar="PROMETHEUS_URL", help="Prometheus base URL.")
@click.option("--since", default="1h", show_default=True,
              help="Start of the window: 15m, 1h, 2d or an ISO time.")
@click.option("--until", default=None, help="End of the window (default now).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML page (plotly inline) here.")
@click.option("--dashboards", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, show_default="the shop's, shipped in the package",
              help="Folder of Grafana dashboard JSON to take panels and queries from.")
@click.option("--var", "variables", multiple=True, metavar="NAME=REGEX",
              help="Set a dashboard variable (default: All), e.g. --var service=order.")
def metrics_command(prometheus_url: str, since: str, until: str | None, html_path: Path | None,
                    dashboards: Path | None, variables: tuple[str, ...]) -> None:
    """Every Grafana panel of the shop as a figure, straight from Prometheus (no Grafana)."""
    from rich.console import Console
    from rich.progress import Progress

    from traceaudit import metrics
    from traceaudit.window import Window

    console = Console(stderr=True)
    try:
        window = Window.parse(since, until)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since/--until") from None
    span = window.end - window.start
    values = dict(v.split("=", 1) for v in variables if "=" in v)
    try:
        panels = metrics.load_panels(dashboards or metrics.DASHBOARDS)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("querying Prometheus", total=len(panels))
            collected = []
            for panel in panels:
                collected += metrics.collect(prometheus_url, [panel], since=span,
                                             end=window.end, values=values)
                progress.advance(task)
    except metrics.MetricsError as exc:
        raise click.ClickException(str(exc)) from exc
    for data in collected:
        for error in data.errors:
            console.print(f"[yellow]warning[/]: {data.panel.title}: {error}")
    if html_path:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(metrics.render_html(collected, prometheus=prometheus_url,
                                                 since=span, end=window.end))
        with_data = sum(d.has_data for d in collected)
        console.print(f"wrote {html_path} ({with_data}/{len(collected)} panels with data)",
                      soft_wrap=True)
    else:
        Console().print(_table(collected))


def _table(collected: list[metrics.PanelData]) -> Table:
    from rich.table import Table

    from traceaudit import metrics

    table = Table(title="Shop metrics (latest value of each series)")
    for column in ("dashboard", "panel", "series", "latest"):
        table.add_column(column)
    for data in collected:
        last = metrics.latest(data)
        shown = ", ".join(f"{k} {v:.3g}" for k, v in list(last.items())[:4])
        more = f" (+{len(last) - 4})" if len(last) > 4 else ""
        table.add_row(data.panel.dashboard, data.panel.title, str(len(last)),
                      (shown + more) or "[dim]no data[/]")
    return table
