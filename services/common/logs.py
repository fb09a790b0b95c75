"""Trace-correlated JSON logs: structlog and stdlib (uvicorn included) through one renderer.

One JSON object a line with `timestamp` (RFC 3339 UTC, µs), `level`, `service`, `event`,
`logger`, and `trace_id`/`span_id`/`trace_flags` of the span active when the line was logged.
Secrets are masked before rendering, by the rules of `masking.py` (the spans' rules too).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

from services.common.masking import MASK, mask_text, mask_value

__all__ = ["MASK", "configure", "log_path", "mask_secrets", "mask_text"]

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_BYTES = 20 * 1024 * 1024
BACKUPS = 5
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
_HEAD = ("timestamp", "level", "service", "event", "logger", "trace_id", "span_id",
         "trace_flags")
_UNMASKED = frozenset(_HEAD) - {"event"}


def mask_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets in every field except the log's own metadata."""
    for key, value in event_dict.items():
        if key not in _UNMASKED and not key.startswith("_"):
            event_dict[key] = mask_value(key, value)
    return event_dict


def add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ids of the active span (nothing outside a span)."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
        event_dict["trace_flags"] = format(ctx.trace_flags, "02x")
    return event_dict


def _add_service(service: str) -> Callable[[WrappedLogger, str, EventDict], EventDict]:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def add_access_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: uvicorn access records as fields (client, method, path, status)."""
    args = event_dict.pop("positional_args", ())
    event_dict.pop("color_message", None)  # uvicorn's ANSI-colored duplicate of `event`
    record = event_dict.get("_record")
    if record is not None and record.name == "uvicorn.access" and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict.update(
            client_addr=client, method=method, path=path, http_version=http_version,
            status_code=status,
        )
    return event_dict


def _metadata_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    head = {k: event_dict.pop(k) for k in _HEAD if k in event_dict}
    return head | event_dict


def _render(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _RenderOnce(structlog.stdlib.ProcessorFormatter):
    """Renders a record once however many handlers ask (file, its rollover check, stderr)."""

    def format(self, record: logging.LogRecord) -> str:
        rendered = record.__dict__.get("_shop_rendered")
        if rendered is None:
            rendered = super().format(record)
            record._shop_rendered = rendered
        return rendered


def log_path(service: str, var_dir: str | Path | None = None) -> Path:
    """`$SHOP_VAR_DIR/log/<service>.jsonl` (default var dir: `var/` in the repo root)."""
    base = Path(var_dir or os.environ.get("SHOP_VAR_DIR") or REPO_ROOT / "var")
    return base / "log" / f"{service}.jsonl"


def configure(
    service: str,
    *,
    var_dir: str | Path | None = None,
    level: str | None = None,
    stderr: bool = True,
    max_bytes: int = MAX_BYTES,
) -> Path:
    """Route structlog, stdlib and uvicorn logs to `log_path(service)` (rotated) and stderr.

    Safe to call again (handlers are replaced). Level from `level` or `LOG_LEVEL` (info).
    Returns the log file path.
    """
    level_name = (level or os.environ.get("LOG_LEVEL") or "info").upper()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_service(service),
        structlog.processors.TimeStamper(fmt=TIMESTAMP_FORMAT, utc=True),
        add_trace_context,
    ]
    formatter = _RenderOnce(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), add_access_fields],
        pass_foreign_args=True,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_secrets,
            _metadata_first,
            structlog.processors.JSONRenderer(serializer=_render),
        ],
    )
    path = log_path(service, var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=BACKUPS, encoding="utf-8"
        )
    ]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level_name)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return path
