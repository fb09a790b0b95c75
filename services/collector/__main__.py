"""`python -m services.collector [--host H] [--port P] [--db PATH]`: run the collector."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from services.collector.app import create_app
from services.collector.settings import CollectorSettings


@click.command()
@click.option("--host", default=None, help="Bind address [SHOP_BIND_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [COLLECTOR_PORT, 9411+offset].")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="SQLite file.")
@click.option("--log-level", default=None, help="uvicorn log level [LOG_LEVEL].")
def main(host: str | None, port: int | None, db: Path | None, log_level: str | None) -> None:
    """Serve the Zipkin v2 API (and OTLP/HTTP traces) backed by SQLite."""
    overrides = {"collector_db": db} if db else {}
    settings = CollectorSettings(**overrides)
    uvicorn.run(
        create_app(settings),
        host=host or settings.shop_bind_host,
        port=port or settings.port("collector"),
        log_level=(log_level or settings.log_level).lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
