"""Circuit breaker for asyncio calls: closed → open → half-open → closed.

Closed: calls go through; the breaker opens after `fail_max` consecutive failures, or when at
least `failure_rate` of the last `window` calls failed. Open: calls fail at once with
`CircuitOpenError` until `reset_timeout` has passed; the next call then moves it to half-open.
Half-open: at most `half_open_max_calls` trial calls run at a time; `success_threshold`
successes close it, one failure opens it again.

Every transition sets the `circuit_breaker_state` gauge, counts into
`circuit_breaker_transitions_total`, adds a span event to the current span, writes a structlog
line and calls the listeners. The consecutive-count behaviour is tested against pybreaker.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

import structlog
from opentelemetry import trace

from services.common import metrics

T = TypeVar("T")
log = structlog.get_logger()


class BreakerState(IntEnum):
    """The gauge value of each state."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class CircuitOpenError(Exception):
    """The call was not attempted: the circuit is open (or half-open with its trials busy)."""

    def __init__(self, target: str, retry_after: float):
        super().__init__(f"circuit to {target} is open; next trial in {retry_after:.1f} s")
        self.target = target
        self.retry_after = retry_after


@dataclass(frozen=True)
class BreakerConfig:
    """Thresholds of one breaker; `failure_rate=None` disables the rate rule."""

    fail_max: int = 5
    failure_rate: float | None = 0.5
    window: int = 10
    reset_timeout: float = 10.0
    half_open_max_calls: int = 1
    success_threshold: int = 1
    call_timeout: float | None = 2.0


Listener = Callable[["CircuitBreaker", BreakerState, BreakerState], None]


class CircuitBreaker:
    """Guards calls to one `target`; `is_failure(exc)` decides which exceptions count.

    Exceptions that do not count (e.g. a 4xx business rejection) are re-raised and recorded as
    successes, as pybreaker does with excluded exceptions. Results of calls started before the
    latest transition are ignored, so a burst of slow calls cannot trip the breaker twice.
    """

    def __init__(
        self,
        target: str,
        config: BreakerConfig | None = None,
        *,
        service: str | None = None,
        is_failure: Callable[[BaseException], bool] = lambda exc: True,
        clock: Callable[[], float] = time.monotonic,
        listeners: tuple[Listener, ...] = (),
    ):
        self.target = target
        self.config = config or BreakerConfig()
        self.service = service or metrics.service_name()
        self.is_failure = is_failure
        self.clock = clock
        self.listeners = list(listeners)
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._opened_at = 0.0
        self._consecutive_failures = 0
        self._recent: deque[bool] = deque(maxlen=self.config.window)
        self._trials = 0
        self._trial_successes = 0
        metrics.circuit_breaker_state.labels(self.service, target).set(BreakerState.CLOSED)

    @property
    def state(self) -> BreakerState:
        """The current state (open stays open until a call arrives after the reset timeout)."""
        return self._state

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when not open)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.config.reset_timeout - self.clock())

    def snapshot(self) -> dict[str, Any]:
        """State for `/health` and logs."""
        return {
            "target": self.target,
            "state": self._state.label,
            "consecutiveFailures": self._consecutive_failures,
            "retryAfterSeconds": round(self.retry_after(), 3),
        }

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` under the breaker (and its call timeout)."""
        generation, trial = self._admit()
        try:
            if self.config.call_timeout is None:
                result = await fn(*args, **kwargs)
            else:
                async with asyncio.timeout(self.config.call_timeout):
                    result = await fn(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self.is_failure(exc):
                self._on_failure(generation, exc)
            else:
                self._on_success(generation)
            raise
        else:
            self._on_success(generation)
            return result
        finally:
            if trial and generation == self._generation:
                self._trials -= 1

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _admit(self) -> tuple[int, bool]:
        """Let a call through or raise `CircuitOpenError`; returns (generation, is_trial)."""
        if self._state is BreakerState.OPEN:
            if self.retry_after() > 0:
                raise CircuitOpenError(self.target, self.retry_after())
            self._transition(BreakerState.HALF_OPEN)
        if self._state is BreakerState.HALF_OPEN:
            if self._trials >= self.config.half_open_max_calls:
                raise CircuitOpenError(self.target, 0.0)
            self._trials += 1
            return self._generation, True
        return self._generation, False

    def _on_success(self, generation: int) -> None:
        if generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN:
            self._trial_successes += 1
            if self._trial_successes >= self.config.success_threshold:
                self._transition(BreakerState.CLOSED)
            return
        self._consecutive_failures = 0
        self._recent.append(False)

    def _on_failure(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN:
            self._transition(BreakerState.OPEN, exc)
            return
        self._consecutive_failures += 1
        self._recent.append(True)
        if self._consecutive_failures >= self.config.fail_max or self._rate_exceeded():
            self._transition(BreakerState.OPEN, exc)

    def _rate_exceeded(self) -> bool:
        rate = self.config.failure_rate
        if rate is None or len(self._recent) < self.config.window:
            return False
        return sum(self._recent) / len(self._recent) >= rate

    def _transition(self, to: BreakerState, cause: BaseException | None = None) -> None:
        previous = self._state
        self._state = to
        self._generation += 1
        self._trials = 0
        self._trial_successes = 0
        if to is BreakerState.OPEN:
            self._opened_at = self.clock()
        if to is BreakerState.CLOSED:
            self._consecutive_failures = 0
            self._recent.clear()
        self._announce(previous, to, cause)

    def _announce(
        self, previous: BreakerState, to: BreakerState, cause: BaseException | None
    ) -> None:
        metrics.circuit_breaker_state.labels(self.service, self.target).set(to)
        metrics.circuit_breaker_transitions_total.labels(
            self.service, self.target, previous.label, to.label
        ).inc()
        attributes = {
            "circuit_breaker.target": self.target,
            "circuit_breaker.from_state": previous.label,
            "circuit_breaker.to_state": to.label,
        }
        if cause is not None:
            attributes["circuit_breaker.cause"] = f"{type(cause).__name__}: {cause}"[:200]
        trace.get_current_span().add_event("circuit_breaker.state_change", attributes)
        log.warning(
            "circuit_breaker.transition",
            target=self.target,
            from_state=previous.label,
            to_state=to.label,
            cause=attributes.get("circuit_breaker.cause"),
        )
        for listener in self.listeners:
            try:
                listener(self, previous, to)
            except Exception:
                log.exception("circuit_breaker.listener_failed", target=self.target)
