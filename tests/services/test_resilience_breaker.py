"""The asyncio circuit breaker: its state machine against pybreaker, plus what pybreaker lacks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pybreaker
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from services.common.breaker import BreakerConfig, BreakerState, CircuitBreaker, CircuitOpenError


class Boom(Exception):
    """A failure that counts."""


class Rejected(Exception):
    """A business rejection that does not count (like a 4xx)."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock, target: str = "oracle", **config: object) -> CircuitBreaker:
    defaults = {"failure_rate": None, "call_timeout": None}
    return CircuitBreaker(
        target,
        BreakerConfig(**{**defaults, **config}),
        service="test",
        is_failure=lambda exc: not isinstance(exc, Rejected),
        clock=clock,
    )


async def run(breaker: CircuitBreaker, outcome: str) -> str:
    """One call through `breaker`; returns what the caller saw."""
    called = False

    async def target() -> str:
        nonlocal called
        called = True
        if outcome == "fail":
            raise Boom
        if outcome == "rejected":
            raise Rejected
        return "ok"

    try:
        await breaker.call(target)
    except CircuitOpenError:
        return "blocked"
    except (Boom, Rejected) as exc:
        assert called
        return type(exc).__name__
    return "ok"


def run_oracle(cb: pybreaker.CircuitBreaker, outcome: str) -> str:
    def target() -> str:
        if outcome == "fail":
            raise Boom
        if outcome == "rejected":
            raise Rejected
        return "ok"

    try:
        cb.call(target)
    except pybreaker.CircuitBreakerError:
        return "blocked"
    except (Boom, Rejected) as exc:
        return type(exc).__name__
    return "ok"


ORACLE_STATE = {"closed": BreakerState.CLOSED, "open": BreakerState.OPEN,
                "half-open": BreakerState.HALF_OPEN}

steps = st.lists(
    st.one_of(
        st.sampled_from(["ok", "fail", "rejected"]),
        st.floats(min_value=0.0, max_value=8.0).map(lambda dt: round(dt, 1)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    steps=steps,
    fail_max=st.integers(1, 5),
    reset_timeout=st.sampled_from([1.0, 3.0, 5.0]),
    success_threshold=st.integers(1, 3),
)
def test_state_machine_matches_pybreaker(
    steps: list,
    fail_max: int,
    reset_timeout: float,
    success_threshold: int,
) -> None:
    """Sequential calls: same outcome of every call and same state after it as pybreaker."""
    clock = FakeClock()
    epoch = datetime(2026, 1, 1, tzinfo=UTC)

    class OracleTime(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:
            return epoch + timedelta(seconds=clock.now)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pybreaker, "datetime", OracleTime)
        _compare(clock, steps, fail_max, reset_timeout, success_threshold)


def _compare(
    clock: FakeClock, steps: list, fail_max: int, reset_timeout: float, success_threshold: int
) -> None:
    oracle = pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        success_threshold=success_threshold,
        exclude=[Rejected],
        throw_new_error_on_trip=False,
    )
    ours = make(clock, fail_max=fail_max, reset_timeout=reset_timeout,
                success_threshold=success_threshold)

    async def drive() -> None:
        for i, step in enumerate(steps):
            if isinstance(step, float):
                clock.now += step
                continue
            seen = await run(ours, step)
            expected = run_oracle(oracle, step)
            assert seen == expected, f"step {i} {step}: ours {seen}, pybreaker {expected}"
            assert ours.state is ORACLE_STATE[oracle.current_state], f"step {i} {step}"

    asyncio.run(drive())


def test_failure_rate_in_window_opens() -> None:
    """Alternating failures never reach 3 in a row, but 50 % of the last 10 calls trips it."""
    clock = FakeClock()
    breaker = make(clock, fail_max=3, failure_rate=0.5, window=10)

    async def drive() -> list[str]:
        return [await run(breaker, "fail" if i % 2 else "ok") for i in range(12)]

    seen = asyncio.run(drive())
    assert seen[:10] == ["ok", "Boom"] * 5
    assert breaker.state is BreakerState.OPEN
    assert seen[10:] == ["blocked", "blocked"]


def test_half_open_limits_concurrent_trials_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = make(clock, fail_max=1, reset_timeout=5, half_open_max_calls=2)

    async def drive() -> list[str]:
        assert await run(breaker, "fail") == "Boom"
        clock.now += 5
        release = asyncio.Event()

        async def slow() -> str:
            await release.wait()
            return "ok"

        trials = [asyncio.create_task(breaker.call(slow)) for _ in range(2)]
        await asyncio.sleep(0)
        assert breaker.state is BreakerState.HALF_OPEN
        third = await run(breaker, "ok")
        release.set()
        await asyncio.gather(*trials)
        return [third]

    assert asyncio.run(drive()) == ["blocked"]
    assert breaker.state is BreakerState.CLOSED


def test_results_of_calls_from_before_a_transition_are_ignored() -> None:
    """A burst of slow failing calls opens the breaker once, not once per late failure."""
    clock = FakeClock()
    breaker = make(clock, fail_max=2, reset_timeout=5)
    transitions: list[tuple[str, str]] = []
    breaker.add_listener(lambda b, f, t: transitions.append((f.label, t.label)))

    async def drive() -> None:
        release = asyncio.Event()

        async def slow_fail() -> None:
            await release.wait()
            raise Boom

        calls = [asyncio.create_task(breaker.call(slow_fail)) for _ in range(10)]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*calls, return_exceptions=True)
        clock.now += 5
        assert await run(breaker, "ok") == "ok"

    asyncio.run(drive())
    assert transitions == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_call_timeout_counts_as_failure() -> None:
    breaker = CircuitBreaker("slow", BreakerConfig(fail_max=1, call_timeout=0.05), service="test")

    async def drive() -> None:
        with pytest.raises(TimeoutError):
            await breaker.call(asyncio.sleep, 1)

    asyncio.run(drive())
    assert breaker.state is BreakerState.OPEN
    assert 9 < breaker.retry_after() <= 10


def test_transitions_show_in_metrics_span_events_and_logs() -> None:
    clock = FakeClock()
    target = "visible"
    breaker = make(clock, target=target, fail_max=2, reset_timeout=1)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    def gauge() -> float | None:
        return REGISTRY.get_sample_value(
            "circuit_breaker_state", {"service": "test", "target": target}
        )

    def transitions(frm: str, to: str) -> float | None:
        return REGISTRY.get_sample_value(
            "circuit_breaker_transitions_total",
            {"service": "test", "target": target, "from_state": frm, "to_state": to},
        )

    async def drive() -> None:
        with tracer.start_as_current_span("order"):
            await run(breaker, "fail")
            await run(breaker, "fail")
        assert gauge() == 1
        clock.now += 1
        with tracer.start_as_current_span("settle"):
            await run(breaker, "ok")

    assert gauge() == 0
    with capture_logs() as logs:
        asyncio.run(drive())
    assert gauge() == 0
    assert transitions("closed", "open") == 1
    assert transitions("open", "half-open") == 1
    assert transitions("half-open", "closed") == 1
    lines = [(e["from_state"], e["to_state"]) for e in logs
             if e["event"] == "circuit_breaker.transition"]
    assert lines == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    spans = {s.name: s for s in exporter.get_finished_spans()}
    opened = [e.attributes for e in spans["order"].events]
    assert opened[0]["circuit_breaker.to_state"] == "open"
    assert "Boom" in opened[0]["circuit_breaker.cause"]
    assert [e.attributes["circuit_breaker.to_state"] for e in spans["settle"].events] == [
        "half-open", "closed"]
