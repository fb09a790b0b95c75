"""Fault switches: flags in one flagd-format JSON file, read at run time (no restart).

The file (`SHOP_FLAGS_FILE`, default `deploy/flags.json`) is re-read when its mtime or size
changes, checked at most every `CHECK_SECONDS`. A flag is evaluated like flagd does: a
`DISABLED` flag or a missing one gives the caller's default; else its `targeting` (a JsonLogic
subset) is evaluated against the context, and a result naming a variant picks it; anything else
(null, no targeting) picks `defaultVariant`. A broken file keeps the last good flags and logs
one line. An active flag (truthy value) adds a `feature_flag.evaluation` event to the current
span, so a trace shows which switch caused a fault.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from opentelemetry import trace

log = structlog.get_logger()

CHECK_SECONDS = 0.5

# Flag keys (the names in the file, as in the OpenTelemetry Demo where one exists).
PAYMENT_FAILURE = "paymentFailure"
PAYMENT_UNREACHABLE = "paymentUnreachable"
PAYMENT_SLOWDOWN = "paymentSlowdown"
CUSTOMER_SLOWDOWN = "customerSlowdown"
PRODUCT_CATALOG_FAILURE = "productCatalogFailure"
PRODUCT_HIGH_CPU = "productHighCpu"
NOTIFICATION_QUEUE_PROBLEMS = "notificationQueueProblems"
NOTIFICATION_MEMORY_LEAK = "notificationMemoryLeak"
FAILED_READINESS_PROBE = "failedReadinessProbe"

# Where a switched-on "unreachable" dependency points: a port nothing listens on.
UNREACHABLE_URL = "http://127.0.0.1:9"


class FlagFileError(ValueError):
    """The flag file or a flag in it is not valid flagd JSON."""


# --- JsonLogic subset used by flagd targeting --------------------------------------------------


def _loose_eq(a: Any, b: Any) -> bool:
    """JsonLogic `==`: numbers and numeric strings compare by value (`"51" == 51`)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    kinds = {type(a), type(b)}
    if str in kinds and kinds & {int, float}:
        try:
            return float(a) == float(b)
        except ValueError:
            return False
    return a == b


def _var(args: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(args, list):
        path, default = args[0], (args[1] if len(args) > 1 else None)
    else:
        path, default = args, None
    value: Any = context
    for part in str(path).split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def _if(args: list[Any], context: Mapping[str, Any]) -> Any:
    # [cond, then, cond2, then2, ..., else?]; a missing else gives null (flagd: default variant)
    for i in range(0, len(args) - 1, 2):
        if evaluate_logic(args[i], context):
            return evaluate_logic(args[i + 1], context)
    return evaluate_logic(args[-1], context) if len(args) % 2 else None


_BINARY = {
    "==": _loose_eq,
    "!=": lambda a, b: not _loose_eq(a, b),
    "===": lambda a, b: a == b and type(a) is type(b),
    "!==": lambda a, b: not (a == b and type(a) is type(b)),
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: b is not None and a in b,
}


def evaluate_logic(rule: Any, context: Mapping[str, Any]) -> Any:
    """Evaluate a JsonLogic rule: `var if == != === !== < <= > >= in and or !`."""
    if isinstance(rule, list):
        return [evaluate_logic(item, context) for item in rule]
    if not isinstance(rule, dict) or len(rule) != 1:
        return rule
    op, args = next(iter(rule.items()))
    if op == "var":
        return _var(args, context)
    if not isinstance(args, list):
        args = [args]
    if op == "if":
        return _if(args, context)
    if op == "and":
        value: Any = True
        for arg in args:
            value = evaluate_logic(arg, context)
            if not value:
                return value
        return value
    if op == "or":
        value = False
        for arg in args:
            value = evaluate_logic(arg, context)
            if value:
                return value
        return value
    if op == "!":
        return not evaluate_logic(args[0], context)
    if op in _BINARY and len(args) == 2:
        left, right = (evaluate_logic(arg, context) for arg in args)
        return _BINARY[op](left, right)
    raise FlagFileError(f"unsupported targeting operator {op!r}")


# --- flags and the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating one flag."""

    key: str
    variant: str | None
    value: Any
    reason: str  # STATIC | TARGETING_MATCH | DISABLED | FLAG_NOT_FOUND | ERROR


def evaluate_flag(key: str, flag: Mapping[str, Any] | None, context: Mapping[str, Any],
                  default: Any = None) -> Evaluation:
    """Evaluate one flag definition as flagd does."""
    if flag is None:
        return Evaluation(key, None, default, "FLAG_NOT_FOUND")
    if flag.get("state", "ENABLED") == "DISABLED":
        return Evaluation(key, None, default, "DISABLED")
    variants = flag["variants"]
    reason, variant = "STATIC", flag.get("defaultVariant")
    if flag.get("targeting"):
        try:
            picked = evaluate_logic(flag["targeting"], context)
        except (FlagFileError, TypeError) as exc:
            log.warning("flag targeting failed", flag=key, error=str(exc))
            return Evaluation(key, None, default, "ERROR")
        if isinstance(picked, str) and picked in variants:
            reason, variant = "TARGETING_MATCH", picked
    if variant not in variants:
        return Evaluation(key, None, default, "ERROR")
    return Evaluation(key, variant, variants[variant], reason)


def validate(document: Any) -> dict[str, Any]:
    """The `flags` mapping of a flagd document, or `FlagFileError` naming what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("flags"), dict):
        raise FlagFileError("expected a JSON object with a 'flags' object")
    for key, flag in document["flags"].items():
        if not isinstance(flag, dict) or not isinstance(flag.get("variants"), dict):
            raise FlagFileError(f"flag {key!r}: expected an object with 'variants'")
        if flag.get("defaultVariant") not in flag["variants"]:
            raise FlagFileError(f"flag {key!r}: defaultVariant is not one of its variants")
        if flag.get("state", "ENABLED") not in ("ENABLED", "DISABLED"):
            raise FlagFileError(f"flag {key!r}: state must be ENABLED or DISABLED")
    return document["flags"]


class FlagStore:
    """The flags of one file, reloaded when the file changes."""

    def __init__(self, path: Path | str, check_seconds: float = CHECK_SECONDS):
        self.path = Path(path)
        self.check_seconds = check_seconds
        self._flags: dict[str, Any] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def flags(self) -> dict[str, Any]:
        """The current flag definitions (re-read if the file changed since the last check)."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            with self._lock:
                self._checked_at = now
                self._reload_if_changed()
        return self._flags

    def _reload_if_changed(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            if self._stamp is not None:
                log.warning("flag file gone, keeping the last flags", path=str(self.path))
                self._stamp = None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._flags = validate(json.loads(self.path.read_text()))
        except (OSError, ValueError) as exc:
            log.warning("flag file invalid, keeping the last good flags", path=str(self.path),
                        error=str(exc).splitlines()[0])
            return
        log.info("flags loaded", path=str(self.path), flags=len(self._flags))

    def evaluate(self, key: str, default: Any = None, **context: Any) -> Evaluation:
        result = evaluate_flag(key, self.flags().get(key), context, default)
        if result.value:
            trace.get_current_span().add_event("feature_flag.evaluation", {
                "feature_flag.key": key,
                "feature_flag.result.variant": str(result.variant),
                "feature_flag.result.reason": result.reason,
                "feature_flag.provider.name": "file",
            })
        return result

    def value(self, key: str, default: Any = None, **context: Any) -> Any:
        """The flag's value for this context (`default` when absent, disabled or broken)."""
        return self.evaluate(key, default, **context).value


_store: FlagStore | None = None


def default_path() -> Path:
    from services.common.settings import get_settings

    return Path(os.environ.get("SHOP_FLAGS_FILE") or get_settings().shop_flags_file)


def store() -> FlagStore:
    """The process-wide store of `SHOP_FLAGS_FILE`."""
    global _store
    if _store is None:
        _store = FlagStore(default_path())
    return _store


def value(key: str, default: Any = None, **context: Any) -> Any:
    """Shortcut: `store().value(...)`."""
    return store().value(key, default, **context)


# --- flipping flags (the `shop flag` command) --------------------------------------------------


def set_variant(path: Path | str, key: str, variant: str, only: tuple[str, str] | None = None
                ) -> dict[str, Any]:
    """Make `variant` the default of flag `key` and rewrite the file atomically.

    With `only=(name, value)` the targeting becomes "`off` unless context `name` == `value`",
    so the variant applies to that one product (or service) only. Returns the new flag.
    """
    path = Path(path)
    document = json.loads(path.read_text())
    flags = validate(document)
    if key not in flags:
        raise FlagFileError(f"unknown flag {key!r}; known: {', '.join(sorted(flags))}")
    flag = flags[key]
    if variant not in flag["variants"]:
        raise FlagFileError(
            f"flag {key!r} has no variant {variant!r}; variants: {', '.join(flag['variants'])}")
    flag["defaultVariant"] = variant
    if only is not None:
        if "off" not in flag["variants"]:
            raise FlagFileError(f"flag {key!r} has no 'off' variant to target around")
        name, target = only
        flag["targeting"] = {"if": [{"!=": [{"var": name}, target]}, "off"]}
    write_atomically(path, json.dumps(document, indent=2) + "\n")
    return flag


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old or the new file, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def describe(path: Path | str) -> list[dict[str, Any]]:
    """One row per flag: key, current default variant, variants, targeting, description."""
    flags = validate(json.loads(Path(path).read_text()))
    return [
        {
            "flag": key,
            "variant": flag["defaultVariant"],
            "state": flag.get("state", "ENABLED"),
            "variants": list(flag["variants"]),
            "targeting": flag.get("targeting") or None,
            "description": flag.get("description", ""),
        }
        for key, flag in flags.items()
    ]


# --- the effects the services apply ------------------------------------------------------------


def failure_roll(rate: float) -> bool:
    """True with probability `rate` (0 never, 1 always)."""
    return rate > 0 and random.random() < rate


async def delay(key: str, **context: Any) -> float:
    """Sleep for the seconds flag `key` says (0 when off); the seconds slept."""
    seconds = float(value(key, 0, **context) or 0)
    if seconds > 0:
        await asyncio.sleep(seconds)
    return seconds


def burn_cpu(seconds: float) -> None:
    """Spin the CPU for `seconds` of process CPU time (blocks the caller on purpose)."""
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for i in range(10_000):
            x ^= i * i


_leaked: list[str] = []


def leak(text: str, times: int) -> int:
    """Keep `times` padded copies of `text` forever while on; clear them once off.

    Returns the number of characters held, so the effect is observable in-process too.
    """
    if times <= 0:
        _leaked.clear()
        return 0
    _leaked.append(text * times)
    return sum(map(len, _leaked))


def readiness_failure(service: str) -> str | None:
    """The reason `/health/ready` must fail for `service`, or None."""
    if value(FAILED_READINESS_PROBE, False, service=service):
        return f"{FAILED_READINESS_PROBE} flag is on"
    return None


async def readiness_check(request: Any) -> str | None:
    """A `create_app` ready check: fails while `failedReadinessProbe` targets this service."""
    return readiness_failure(request.app.state.service)
