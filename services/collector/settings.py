"""Settings of the collector: the shop's settings plus the collector's own knobs (env vars)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from services.collector.limits import Limits, MiB
from services.common.settings import Settings

#: Browser origins allowed to post spans (web dev server, gateway), before the port offset.
DEFAULT_CORS_PORTS = (5173, 8222)


class CollectorSettings(Settings):
    """`COLLECTOR_*` env vars; port and var dir come from the shared shop settings."""

    collector_db: Path | None = Field(None, description="SQLite file; $SHOP_VAR_DIR/zipkin.sqlite3")
    collector_max_spans: int = Field(500_000, description="span cap (Zipkin MEM_MAX_SPANS)")
    collector_retention_hours: float = Field(72.0, description="traces received earlier go")
    collector_cors_origins: str | None = Field(None, description="comma list of origins")
    collector_autocomplete_keys: str = Field("", description="comma list of tag keys")
    collector_query_lookback_ms: int = Field(86_400_000, description="QUERY_LOOKBACK of Zipkin")
    collector_max_body_bytes: int = Field(16 * MiB, description="request body cap (413)")
    collector_max_inflated_bytes: int = Field(16 * MiB, description="gunzipped body cap (413)")
    collector_max_batch_spans: int = Field(10_000, description="spans one request may hold")
    collector_max_in_flight_bytes: int = Field(32 * MiB, description="bodies held at once (503)")
    collector_max_tags: int = Field(128, description="tags kept per span")
    collector_max_tag_value: int = Field(16_384, description="characters kept of a tag value")

    @property
    def db_path(self) -> Path:
        return self.collector_db or self.shop_var_dir / "zipkin.sqlite3"

    @property
    def cors_origins(self) -> list[str]:
        if self.collector_cors_origins is not None:
            return _comma_list(self.collector_cors_origins)
        return [
            f"http://{host}:{port + self.shop_port_offset}"
            for port in DEFAULT_CORS_PORTS
            for host in ("localhost", "127.0.0.1")
        ]

    @property
    def limits(self) -> Limits:
        """The ingest caps; a batch may never hold more than half the span cap."""
        batch = max(1, min(self.collector_max_batch_spans, self.collector_max_spans // 2))
        return Limits(
            max_body=self.collector_max_body_bytes,
            max_inflated=self.collector_max_inflated_bytes,
            max_batch_spans=batch,
            max_in_flight=max(self.collector_max_in_flight_bytes, self.collector_max_body_bytes),
            max_tags=self.collector_max_tags,
            max_tag_value=self.collector_max_tag_value,
        )

    @property
    def autocomplete_keys(self) -> list[str]:
        return _comma_list(self.collector_autocomplete_keys)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@lru_cache
def get_settings() -> CollectorSettings:
    return CollectorSettings()
