"""Order service settings (env `ORDER_*`): timeouts, retries, breaker, background tasks."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.breaker import BreakerConfig


class OrderSettings(BaseSettings):
    """Defaults follow the reference contract (§2.3, §2.4); tests shorten the breaker's."""

    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    customer_timeout: float = 2.0
    customer_retries: int = 2
    product_timeout: float = 3.0
    payment_timeout: float = 2.0

    # defaults from BreakerConfig, so the breaker's thresholds are stated once
    breaker_fail_max: int = BreakerConfig.fail_max
    breaker_failure_rate: float | None = BreakerConfig.failure_rate
    breaker_window: int = BreakerConfig.window
    breaker_reset_timeout: float = BreakerConfig.reset_timeout
    breaker_half_open_max_calls: int = BreakerConfig.half_open_max_calls
    breaker_success_threshold: int = BreakerConfig.success_threshold

    settle_interval: float = 1.0
    settle_batch: int = 50
    settle_concurrency: int = 5
    stale_created_seconds: float = 30.0
    outbox_poll_interval: float = 1.0
    compensation_delay: float = 5.0

    def breaker_config(self) -> BreakerConfig:
        return BreakerConfig(
            fail_max=self.breaker_fail_max,
            failure_rate=self.breaker_failure_rate,
            window=self.breaker_window,
            reset_timeout=self.breaker_reset_timeout,
            half_open_max_calls=self.breaker_half_open_max_calls,
            success_threshold=self.breaker_success_threshold,
            call_timeout=self.payment_timeout,
        )


@lru_cache
def get_order_settings() -> OrderSettings:
    return OrderSettings()
