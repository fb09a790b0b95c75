"""The HTTP side every trace source shares: one session, timeouts, retries, bounded answers and
one-line errors that name the URL and the reason (never the headers: they may hold a token)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

MAX_BYTES = 1 << 30  # one answer larger than this is refused rather than exhausting memory
_MISSING = object()


class SourceError(RuntimeError):
    """A trace backend could not be reached or answered something unusable (one line)."""


def parse_headers(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`Name: value` strings (the CLI's `--header`) as a dict; a ValueError says which one by
    its position, never by its text (it may hold a token)."""
    out = {}
    for number, value in enumerate(values, 1):
        name, sep, rest = value.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise ValueError(f"--header number {number}: expected 'Name: value'")
        out[name.strip()] = rest.strip()
    return out


def safe_url(url: str) -> str:
    """The URL without user:password@ (for messages)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    return isinstance(exc, requests.HTTPError) and exc.response is not None \
        and exc.response.status_code >= 500


class Http:
    """GETs of one backend (`base_url` is its root, e.g. `http://jaeger:16686`)."""

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, attempts: int = 4, max_bytes: int = MAX_BYTES,
                 session: requests.Session | None = None, wait_max: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self._get = retry(retry=retry_if_exception(_retryable), reraise=True,
                          stop=stop_after_attempt(max(1, attempts)),
                          wait=wait_exponential(multiplier=0.2, max=wait_max))(self._get_once)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _get_once(self, url: str, params: Any, not_found: Any) -> bytes | None:
        with self.session.get(url, params=params, timeout=self.timeout, stream=True) as r:
            if r.status_code == 404 and not_found is not _MISSING:
                return None
            if r.status_code >= 400:
                r._content = r.raw.read(2048, decode_content=True)  # the reason, bounded
                r.raise_for_status()
            body = bytearray()
            for piece in r.iter_content(1 << 16):
                body += piece
                if len(body) > self.max_bytes:
                    raise SourceError(f"{safe_url(url)}: answer larger than "
                                      f"{self.max_bytes:,} bytes")
            return bytes(body)

    def get_bytes(self, path: str, params: Any = None, *, not_found: Any = _MISSING):
        """The body of a GET (retried on connection errors, timeouts and 5xx); `not_found` is
        returned for a 404 if given, else a 404 is an error."""
        url = self.url(path)
        try:
            body = self._get(url, params or {}, not_found)
        except requests.HTTPError as exc:
            response = exc.response
            status = response.status_code if response is not None else "?"
            raise SourceError(f"{safe_url(url)}: HTTP {status}{_reason(response)}") from None
        except requests.RequestException as exc:
            raise SourceError(f"{safe_url(url)}: {_network_reason(exc)}") from None
        return not_found if body is None else body

    def get_json(self, path: str, params: Any = None, *, not_found: Any = _MISSING):
        """Parsed JSON of a GET (see `get_bytes`); not JSON is an error naming the URL."""
        body = self.get_bytes(path, params, not_found=not_found)
        if body is not_found and not_found is not _MISSING:
            return not_found
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SourceError(f"{safe_url(self.url(path))}: answered something that is not "
                              f"JSON ({body[:60]!r})") from None


def _reason(response: requests.Response | None) -> str:
    """The first line of an error body, or the message inside a JSON error envelope."""
    if response is None or not response.content:
        return ""
    text = response.content.decode("utf-8", "replace").strip()
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):  # Jaeger v1 {"errors": [{"msg"}]}, api_v3 {"error": {"message"}}
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            text = str(errors[0].get("msg") or text)
        elif isinstance(doc.get("error"), dict):
            text = str(doc["error"].get("message") or text)
        elif isinstance(doc.get("error"), str):
            text = doc["error"]
    first = text.splitlines()[0] if text else ""
    return f": {first[:200]}" if first else ""


def _network_reason(exc: requests.RequestException) -> str:
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timed out"
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid URL"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__
