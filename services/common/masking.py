"""One rule set for secrets, applied to log lines and to span attributes before export.

Masked: Luhn-valid card numbers (last four kept), e-mail addresses (the domain kept, also
percent-encoded in URLs), the value of any field or attribute whose name says it is a secret
(password, secret, token, api key, authorization, card number, CVV...), and `name=value` /
`name: value` pairs of those names inside free text such as a URL's query string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

MASK = "***"

_SECRETS = (r"pass(?:word|wd)|secret|token|api_?key|apikey|authorization|cvv2?|cvc"
            r"|security_?code|card_?number|credit_?card")
SECRET_KEY = re.compile(  # matched against the lower-cased key, `-` read as `_`
    rf"{_SECRETS}|(^|_)(pwd|pan)($|_)"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_EMAIL = re.compile(r"[\w.+-]+(?:@|%40)([\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})", re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    rf"""((?:{_SECRETS}|pwd)["']?\s*(?:[:=]|%3d)\s*["']?(?:(?:bearer|basic)\s+)?)"""
    r"""([^\s"',&;}]+)""",
    re.IGNORECASE,
)
_MAYBE_SECRET = re.compile(r"[=:@]|%40|%3d|\d{4}", re.IGNORECASE)  # else nothing can match


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return MASK + digits[-4:] if _luhn_ok(digits) else match.group()


def mask_text(text: str) -> str:
    """`text` with card numbers (Luhn-valid), e-mail addresses and `key=secret` values masked."""
    if not _MAYBE_SECRET.search(text):
        return text
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(lambda m: f"{MASK}@{m.group(1)}", text)
    text = _SECRET_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    return _CARD.sub(_mask_card, text)


def is_secret_key(key: str) -> bool:
    return SECRET_KEY.search(key.lower().replace("-", "_")) is not None


def mask_value(key: str, value: Any) -> Any:
    """`value` of field `key` masked: all of it for a secret's name, else what text holds."""
    if is_secret_key(key):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value


def mask_attributes(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Masked span attributes, or None when none needed masking (the common case: no copy)."""
    masked: dict[str, Any] | None = None
    for key, value in attributes.items():
        if is_secret_key(key):
            new: Any = MASK
        elif isinstance(value, str):
            new = mask_text(value)
        elif isinstance(value, Sequence) and value and isinstance(value[0], str):
            new = tuple(mask_text(v) for v in value)
            new = value if list(new) == list(value) else new
        else:
            continue
        if new is not value and new != value:
            if masked is None:
                masked = dict(attributes)
            masked[key] = new
    return masked


class _MaskedSpan:
    """A finished span seen through masked attributes (everything else is the span's own)."""

    def __init__(self, span: ReadableSpan, attributes: dict[str, Any], events: Any) -> None:
        self._span, self.attributes, self.events = span, attributes, events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._span, name)


class _MaskedEvent:
    def __init__(self, event: Any, attributes: dict[str, Any]) -> None:
        self._event, self.attributes = event, attributes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


def masked_span(span: ReadableSpan) -> ReadableSpan:
    """`span` itself when nothing in it is secret, else a view with the secrets masked."""
    attributes = mask_attributes(span.attributes or {})
    events = span.events
    new_events = None
    for index, event in enumerate(events):
        event_attributes = mask_attributes(event.attributes or {})
        if event_attributes is not None:
            new_events = new_events or list(events)
            new_events[index] = _MaskedEvent(event, event_attributes)
    if attributes is None and new_events is None:
        return span
    return _MaskedSpan(span, attributes if attributes is not None else dict(span.attributes or {}),
                       tuple(new_events) if new_events is not None else events)  # type: ignore


class MaskingExporter(SpanExporter):
    """Masks secrets in span and event attributes, then hands the spans to `inner`."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([masked_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
