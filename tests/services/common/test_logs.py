"""JSON log lines: fields, trace correlation, stdlib/uvicorn records, masking, rotation, level."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from services.common import logs

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
tracer = TracerProvider().get_tracer("test")


@pytest.fixture
def log_file(tmp_path: Path):
    """Configure logging of service `shopper` into a temp var dir; undo it afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def configure(**kwargs) -> Path:
        return logs.configure("shopper", var_dir=tmp_path, stderr=False, **kwargs)

    yield configure
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_line_fields_and_active_span_ids(log_file):
    path = log_file()
    assert path.name == "shopper.jsonl" and path.parent.name == "log"
    log = structlog.get_logger("shop.test")
    log.info("outside", n=1)
    with tracer.start_as_current_span("request") as span:
        log.info("inside", n=2)
        logging.getLogger("plain.stdlib").warning("stdlib %s", "too", extra={"order_id": 9})
        ctx = span.get_span_context()
    outside, inside, stdlib = lines(path)
    assert list(outside)[:5] == ["timestamp", "level", "service", "event", "logger"]
    assert TIMESTAMP.match(outside["timestamp"])
    assert outside | {"timestamp": None} == {
        "timestamp": None, "level": "info", "service": "shopper", "event": "outside",
        "logger": "shop.test", "n": 1}
    for line in (inside, stdlib):
        assert line["trace_id"] == format(ctx.trace_id, "032x")
        assert line["span_id"] == format(ctx.span_id, "016x")
        assert line["trace_flags"] == format(ctx.trace_flags, "02x")  # sampled (+ random)
    assert stdlib["event"] == "stdlib too" and stdlib["level"] == "warning"
    assert stdlib["logger"] == "plain.stdlib" and stdlib["order_id"] == 9


def test_uvicorn_access_records_become_fields(log_file):
    path = log_file()
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.addHandler(logging.NullHandler())  # what uvicorn's own config would do
    log_file()  # configure again, as create_app does after uvicorn set up its loggers
    uvicorn_access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                        "/api/v1/orders/1", "1.1", 200)
    (line,) = lines(path)
    assert line["logger"] == "uvicorn.access"
    assert (line["method"], line["path"], line["status_code"]) == ("GET", "/api/v1/orders/1", 200)
    assert "color_message" not in line and "positional_args" not in line


def test_configure_twice_writes_each_line_once(log_file):
    log_file()
    path = log_file()
    structlog.get_logger().info("once")
    assert [x["event"] for x in lines(path)] == ["once"]


def test_secrets_are_masked(log_file):
    path = log_file()
    log = structlog.get_logger()
    log.info(
        "payment for jane.doe@example.com",
        cardNumber="4111 1111 1111 1111", cvv="123", password="hunter2", userPassword="pw1",
        company="ACME",
        customer={"email": "jane@example.org", "card": {"number": "5500-0000-0000-0004"}},
        note="paid with 4012888888881881, cvv=987 password: s3cret",
        order_number="1234567890123456",  # 16 digits, not a valid card number (Luhn)
    )
    logging.getLogger("x").info("login of bob@example.net with password=letmein")
    first, second = lines(path)
    # the timestamp's microseconds may hold any digits ("…714111Z"), so it is left out
    text = json.dumps([{k: v for k, v in x.items() if k != "timestamp"} for x in (first, second)])
    for secret in ("4111", "1111 1111", "hunter2", "pw1", "jane.doe", "jane@", "5500", "4012888888",
                   "987", "s3cret", "bob@", "letmein"):
        assert secret not in text, secret
    assert first["event"] == "payment for ***@example.com"
    assert first["cardNumber"] == first["cvv"] == first["password"] == "***"
    assert first["userPassword"] == "***" and first["company"] == "ACME"
    assert first["customer"] == {"email": "***@example.org", "card": {"number": "***0004"}}
    assert first["note"] == "paid with ***1881, cvv=*** password: ***"
    assert first["order_number"] == "1234567890123456"


def test_level_from_environment(log_file, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "warning")
    path = log_file()
    structlog.get_logger().info("dropped")
    logging.getLogger("lib").info("dropped too")
    structlog.get_logger().warning("kept")
    assert [x["event"] for x in lines(path)] == ["kept"]


def test_files_rotate_by_size(log_file):
    path = log_file(max_bytes=2_000)
    log = structlog.get_logger()
    for i in range(100):
        log.info("filler", i=i)
    rotated = sorted(path.parent.glob("shopper.jsonl.*"))
    assert rotated and path.stat().st_size <= 2_000
    assert all(json.loads(x) for p in [path, *rotated] for x in p.read_text().splitlines())
