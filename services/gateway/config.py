"""Gateway-only settings (CORS origins, per-upstream timeouts, the built web app)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from services.common.settings import DEFAULT_PORTS, REPO, Settings


class GatewaySettings(Settings):
    """The shop's settings plus the gateway's own `GATEWAY_*` / `WEB_*` environment variables."""

    gateway_cors_origins: str | None = Field(
        None, description="comma-separated origins allowed by CORS; default the Vite dev server"
    )
    gateway_connect_timeout: float = 2.0
    gateway_timeout: float = Field(10.0, description="seconds an upstream may take to answer")
    # order calls customer, product and payment in turn (with retries), so it gets longer
    gateway_timeouts: dict[str, float] = Field(
        default_factory=lambda: {"order": 20.0},
        description='per-upstream overrides, JSON: {"order": 20}',
    )
    gateway_web_dist: Path = REPO / "services" / "web" / "dist"
    web_zipkin_ui_url: str | None = Field(
        None, description="base URL of the Zipkin UI the web app links traces to"
    )

    @property
    def cors_origins(self) -> list[str]:
        """`GATEWAY_CORS_ORIGINS`, else `http://localhost:<5173 + SHOP_PORT_OFFSET>`."""
        if self.gateway_cors_origins is None:
            return [f"http://localhost:{DEFAULT_PORTS['web'] + self.shop_port_offset}"]
        return [o.strip().rstrip("/") for o in self.gateway_cors_origins.split(",") if o.strip()]

    def timeout(self, upstream: str) -> float:
        return self.gateway_timeouts.get(upstream, self.gateway_timeout)


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()
