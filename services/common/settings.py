"""Settings of a shop process, read from the environment (pydantic-settings).

Every port is `default + SHOP_PORT_OFFSET`, so several stacks can run side by side; a
per-service `<NAME>_PORT` or `<NAME>_URL` overrides one of them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO = Path(__file__).resolve().parents[2]

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8222,
    "customer": 8090,
    "product": 8050,
    "order": 8070,
    "payment": 8060,
    "notification": 8040,
    "collector": 9411,
    "mailsink": 1025,
    "prometheus": 9090,
    "web": 5173,
}
HTTP_SERVICES = ("gateway", "customer", "product", "order", "payment", "notification")


class Settings(BaseSettings):
    """One stack's configuration; field names are the (case-insensitive) env var names."""

    model_config = SettingsConfigDict(extra="ignore")

    shop_port_offset: int = 0
    shop_bind_host: str = "127.0.0.1"
    shop_var_dir: Path = REPO / "var"
    shop_db_prefix: str = "shop_"
    shop_flags_file: Path = REPO / "deploy" / "flags.json"

    database_host: str = "127.0.0.1"
    database_port: int = 5432
    database_user: str = "postgres"
    database_password: str = ""
    database_connect_timeout: float = Field(2.0, description="seconds; a DB outage fails fast")
    # small pools, so the stacks one machine runs fit PostgreSQL's max_connections (`shop up`
    # checks): 5 services × 9 = 45 a stack; 20 clients of the chaos test fit
    database_pool_size: int = Field(3, description="connections a service keeps open")
    database_max_overflow: int = Field(5, description="extra connections under load")

    broker_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    broker_max_attempts: int = Field(3, description="deliveries before a message is dead-lettered")

    log_level: str = "info"
    order_upstream_via_gateway: bool = False
    zipkin_url: str | None = None

    gateway_port: int | None = None
    customer_port: int | None = None
    product_port: int | None = None
    order_port: int | None = None
    payment_port: int | None = None
    notification_port: int | None = None
    collector_port: int | None = None
    mailsink_port: int | None = None
    prometheus_port: int | None = None
    web_port: int | None = None

    gateway_url: str | None = None
    customer_url: str | None = None
    product_url: str | None = None
    order_url: str | None = None
    payment_url: str | None = None
    notification_url: str | None = None

    def port(self, name: str) -> int:
        """The port `name` listens on: its `<NAME>_PORT`, else default + offset."""
        explicit = getattr(self, f"{name}_port", None)
        port = explicit if explicit is not None else DEFAULT_PORTS[name] + self.shop_port_offset
        if not 0 < port < 65536:
            offset = self.shop_port_offset
            raise ValueError(f"port {port} of {name} is out of range (offset {offset})")
        return port

    def url(self, name: str) -> str:
        """Base URL of service `name` (no trailing slash); `collector` is `ZIPKIN_URL`."""
        explicit = self.zipkin_url if name == "collector" else getattr(self, f"{name}_url", None)
        if explicit:
            return explicit.rstrip("/")
        return f"http://127.0.0.1:{self.port(name)}"

    def database_name(self, service: str) -> str:
        return f"{self.shop_db_prefix}{service}"

    def database_url(self, service: str, database: str | None = None) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of `service`'s own database."""
        password = f":{self.database_password}" if self.database_password else ""
        return (
            f"postgresql+psycopg://{self.database_user}{password}@{self.database_host}:"
            f"{self.database_port}/{database or self.database_name(service)}"
        )

    @property
    def log_dir(self) -> Path:
        return self.shop_var_dir / "log"

    @property
    def mail_dir(self) -> Path:
        return self.shop_var_dir / "mail"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
