"""Fault flags: the flagd-format evaluator, run-time reload, `shop flag`, and each flag's effect.

The effect tests flip flags in the test stack's own flag file (`SHOP_FLAGS_FILE` of the
`stack` fixture) and always switch them off again.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.cli import main as shop_cli
from services.common import faults
from services.common.settings import REPO
from services.mailsink import read_mails
from tests.services._shop import Shop, wait_until

SHIPPED = REPO / "deploy" / "flags.json"
RELOAD = faults.CHECK_SECONDS + 0.3


def flag(variants: dict, default: str, targeting: dict | None = None, **extra: object) -> dict:
    return {"state": "ENABLED", "variants": variants, "defaultVariant": default,
            "targeting": targeting or {}, **extra}


ON_OFF = {"on": True, "off": False}


# --- evaluator -----------------------------------------------------------------------------------


def test_default_variant_without_targeting() -> None:
    result = faults.evaluate_flag("f", flag({"off": 0, "50%": 0.5}, "50%"), {})
    assert (result.variant, result.value, result.reason) == ("50%", 0.5, "STATIC")


def test_targeting_off_unless_product_matches_then_default() -> None:
    """The `--only` rule: `off` elsewhere, the default variant for the targeted product."""
    rule = {"if": [{"!=": [{"var": "productId"}, "7"]}, "off"]}
    on = flag(ON_OFF, "on", rule)
    assert faults.evaluate_flag("f", on, {"productId": "7"}).value is True
    assert faults.evaluate_flag("f", on, {"productId": 7}).value is True  # JsonLogic loose ==
    other = faults.evaluate_flag("f", on, {"productId": "8"})
    assert (other.value, other.reason) == (False, "TARGETING_MATCH")
    assert faults.evaluate_flag("f", flag(ON_OFF, "off", rule), {"productId": "7"}).value is False


def test_targeting_operators() -> None:
    ctx = {"service": "order", "user": {"tier": "gold"}, "n": 3}
    logic = faults.evaluate_logic
    assert logic({"in": [{"var": "service"}, ["order", "payment"]]}, ctx) is True
    assert logic({"and": [{"==": [{"var": "user.tier"}, "gold"]}, {">": [{"var": "n"}, 2]}]}, ctx)
    assert logic({"or": [{"==": [{"var": "missing"}, "x"]}, {"!": [False]}]}, ctx) is True
    assert logic({"if": [False, "a", True, "b", "c"]}, ctx) == "b"
    assert logic({"if": [False, "a"]}, ctx) is None
    with pytest.raises(faults.FlagFileError, match="unsupported"):
        logic({"fractional": [1, 2]}, ctx)


def test_disabled_missing_and_broken_flags_give_the_callers_default() -> None:
    assert faults.evaluate_flag("f", None, {}, default=0).reason == "FLAG_NOT_FOUND"
    disabled = faults.evaluate_flag("f", flag(ON_OFF, "on", state="DISABLED"), {}, default=False)
    assert (disabled.value, disabled.reason) == (False, "DISABLED")
    bad_rule = flag(ON_OFF, "on", {"fractional": ["x"]})
    assert faults.evaluate_flag("f", bad_rule, {}, default=False).reason == "ERROR"


# --- the shipped file ----------------------------------------------------------------------------

FLAG_KEYS = [v for k, v in vars(faults).items()
             if k.isupper() and isinstance(v, str) and re.fullmatch(r"[a-z]+[A-Za-z]+", v)]


def test_shipped_file_has_every_flag_off_and_documented() -> None:
    flags = faults.validate(json.loads(SHIPPED.read_text()))
    assert sorted(flags) == sorted(FLAG_KEYS)
    store = faults.FlagStore(SHIPPED)
    for key in FLAG_KEYS:
        for context in ({}, {"productId": "1"}, {"service": "order"}):
            assert not store.value(key, None, **context), f"{key} is on by default"
        assert "off" in flags[key]["variants"]
    doc = (REPO / "deploy" / "FLAGS.md").read_text()
    for key in FLAG_KEYS:
        assert f"| `{key}` |" in doc, f"{key} missing from deploy/FLAGS.md"


# --- reload at run time, atomic rewrite, CLI -----------------------------------------------------


@pytest.fixture
def flag_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.json"
    path.write_text(SHIPPED.read_text())
    return path


def test_store_sees_changes_without_restart_and_keeps_last_good(flag_file: Path) -> None:
    store = faults.FlagStore(flag_file, check_seconds=0)
    assert store.value(faults.PAYMENT_FAILURE) == 0
    faults.set_variant(flag_file, faults.PAYMENT_FAILURE, "75%")
    assert store.value(faults.PAYMENT_FAILURE) == 0.75
    flag_file.write_text('{"flags": {')  # a half-saved edit
    assert store.value(faults.PAYMENT_FAILURE) == 0.75
    flag_file.unlink()
    assert store.value(faults.PAYMENT_FAILURE) == 0.75


def test_store_checks_the_file_at_most_every_interval(flag_file: Path) -> None:
    store = faults.FlagStore(flag_file, check_seconds=0.3)
    assert store.value(faults.PAYMENT_SLOWDOWN) == 0
    faults.set_variant(flag_file, faults.PAYMENT_SLOWDOWN, "2s")
    assert store.value(faults.PAYMENT_SLOWDOWN) == 0  # within the interval: cached
    time.sleep(0.35)
    assert store.value(faults.PAYMENT_SLOWDOWN) == 2


def test_set_variant_rejects_unknown_names_and_leaves_the_file(flag_file: Path) -> None:
    before = flag_file.read_text()
    with pytest.raises(faults.FlagFileError, match="unknown flag 'nope'"):
        faults.set_variant(flag_file, "nope", "on")
    with pytest.raises(faults.FlagFileError, match="has no variant '33%'"):
        faults.set_variant(flag_file, faults.PAYMENT_FAILURE, "33%")
    assert flag_file.read_text() == before
    assert [p.name for p in flag_file.parent.iterdir()] == ["flags.json"]  # no temp file left


def test_shop_flag_cli(flag_file: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(shop_cli, ["flag", "--file", str(flag_file)], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "paymentFailure" in listed.output and "failedReadinessProbe" in listed.output
    done = runner.invoke(shop_cli, ["flag", "productCatalogFailure", "on", "--only", "productId=9",
                                "--file", str(flag_file)])
    assert done.exit_code == 0, done.output
    store = faults.FlagStore(flag_file)
    assert store.value(faults.PRODUCT_CATALOG_FAILURE, productId="9") is True
    assert store.value(faults.PRODUCT_CATALOG_FAILURE, productId="1") is False
    bad = runner.invoke(shop_cli, ["flag", "paymentFailure", "33%", "--file", str(flag_file)])
    assert bad.exit_code != 0 and "variants: off, 10%" in bad.output


# --- in-process effects --------------------------------------------------------------------------


def test_burn_cpu_spends_process_time() -> None:
    start = time.process_time()
    faults.burn_cpu(0.05)
    assert time.process_time() - start >= 0.05


def test_leak_holds_copies_until_off() -> None:
    assert faults.leak("x" * 100, 10) == 1000
    assert faults.leak("y" * 100, 10) == 2000
    assert faults.leak("ignored", 0) == 0


def test_active_flag_adds_a_span_event(flag_file: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    store = faults.FlagStore(flag_file, check_seconds=0)
    with provider.get_tracer("test").start_as_current_span("charge"):
        store.value(faults.PAYMENT_FAILURE)  # off: no event
        faults.set_variant(flag_file, faults.PAYMENT_FAILURE, "25%")
        store.value(faults.PAYMENT_FAILURE)
    [span] = exporter.get_finished_spans()
    [event] = span.events
    assert event.name == "feature_flag.evaluation"
    assert event.attributes["feature_flag.key"] == "paymentFailure"
    assert event.attributes["feature_flag.result.variant"] == "25%"


# --- each flag's visible effect on the running stack ---------------------------------------------


def _payment(reference: str, customer: str) -> dict:
    return {"amount": 5.0, "paymentMethod": "PAYPAL", "orderId": 1, "orderReference": reference,
            "customer": {"id": customer, "firstname": "Test", "lastname": "Buyer",
                         "email": "buyer@example.com"}}


def _ref() -> str:
    return f"F-{uuid.uuid4().hex[:10]}"


def test_payment_failure_fails_that_share_of_charges(shop: Shop, buyer: str) -> None:
    with shop.flag(faults.PAYMENT_FAILURE, "100%"):
        failed = shop.post("payment", "/api/v1/payments", json=_payment(_ref(), buyer))
        assert failed.status_code == 500
        assert failed.json()["message"].startswith("Payment request failed. Invalid token.")
    with shop.flag(faults.PAYMENT_FAILURE, "50%"):
        codes = [shop.post("payment", "/api/v1/payments", json=_payment(_ref(), buyer))
                 .status_code for _ in range(40)]
    assert set(codes) == {200, 500}
    assert 8 <= codes.count(500) <= 32  # binomial(40, 0.5): outside only with p < 1e-4
    assert shop.post("payment", "/api/v1/payments",
                     json=_payment(_ref(), buyer)).status_code == 200


def test_payment_unreachable_leaves_the_order_pending_without_calling_payment(
        shop: Shop, buyer: str) -> None:
    reference = _ref()
    with shop.flag(faults.PAYMENT_UNREACHABLE, "on"):
        response = shop.place(shop.order_body(buyer, shop.product(), reference=reference))
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "PAYMENT_PENDING"
        assert "ConnectError" in response.json()["message"]
        assert shop.payments(reference) == []
    # once off, the settler pays it (exactly once)
    wait_until(lambda: shop.order(response.json()["orderId"])["status"] == "PAID", timeout=15,
               what="the pending order to be paid")
    assert len(shop.payments(reference)) == 1


def test_payment_slowdown_delays_the_charge(shop: Shop, buyer: str) -> None:
    with shop.flag(faults.PAYMENT_SLOWDOWN, "500ms"):
        start = time.monotonic()
        response = shop.post("payment", "/api/v1/payments", json=_payment(_ref(), buyer))
        slow = time.monotonic() - start
    assert response.status_code == 200
    start = time.monotonic()
    shop.post("payment", "/api/v1/payments", json=_payment(_ref(), buyer))
    fast = time.monotonic() - start
    assert slow >= 0.5
    assert slow - fast >= 0.3  # the sleep, not load noise


def test_customer_slowdown_delays_get_customer(shop: Shop, buyer: str) -> None:
    with shop.flag(faults.CUSTOMER_SLOWDOWN, "1s"):
        start = time.monotonic()
        assert shop.get("customer", f"/api/v1/customers/{buyer}").status_code == 200
        slow = time.monotonic() - start
    start = time.monotonic()
    assert shop.get("customer", f"/api/v1/customers/{buyer}").status_code == 200
    fast = time.monotonic() - start
    assert slow >= 1.0
    assert slow - fast >= 0.5  # the sleep, not load noise


def test_product_catalog_failure_hits_only_the_targeted_product(shop: Shop, buyer: str) -> None:
    target, other = shop.product(), shop.product()
    with shop.flag(faults.PRODUCT_CATALOG_FAILURE, "on", only=("productId", str(target))):
        failed = shop.get("product", f"/api/v1/products/{target}")
        assert failed.status_code == 500
        assert "Product Catalog Fail Feature Flag Enabled" in failed.json()["message"]
        assert shop.get("product", f"/api/v1/products/{other}").status_code == 200
        purchases = shop.metric("order", "http_client_requests_seconds_count", peer="product",
                                method="POST")
        order = shop.place(shop.order_body(buyer, target))
        assert order.status_code == 503
        assert "product service unavailable: 500" in order.json()["message"]
        # a purchase is not idempotent without its key being honoured: never retried
        assert shop.metric("order", "http_client_requests_seconds_count", peer="product",
                           method="POST") - purchases == 1
        assert shop.place(shop.order_body(buyer, other)).status_code == 200
    assert shop.get("product", f"/api/v1/products/{target}").status_code == 200


def _cpu_for_requests(shop: Shop, n: int = 5) -> float:
    before = shop.metric("product", "process_cpu_seconds_total")
    for _ in range(n):
        assert shop.get("product", "/api/v1/products/1").status_code == 200
    return shop.metric("product", "process_cpu_seconds_total") - before


def test_product_high_cpu_burns_cpu_per_request(shop: Shop) -> None:
    with shop.flag(faults.PRODUCT_HIGH_CPU, "on"):
        hot = _cpu_for_requests(shop)
    cold = _cpu_for_requests(shop)
    assert hot >= 0.5  # 5 requests x 0.1 CPU-s
    assert cold < hot / 2


def _notifications(shop: Shop, reference: str) -> list[dict]:
    return shop.get("notification", "/api/v1/notifications",
                    params={"orderReference": reference}).json()


def test_notification_queue_problems_duplicate_and_slow_but_one_mail(
        shop: Shop, buyer: str) -> None:
    reference = _ref()
    published = shop.metric("order", "messages_published_total", routing_key="order.confirmed")
    duplicates = shop.metric("notification", "messages_consumed_total",
                             queue="notification.order-topic", outcome="duplicate")
    with shop.flag(faults.NOTIFICATION_QUEUE_PROBLEMS, "on"):
        start = time.monotonic()
        assert shop.place(shop.order_body(buyer, shop.product(), reference=reference)
                          ).status_code == 200
        wait_until(lambda: any(n["type"] == "ORDER_CONFIRMATION"
                               for n in _notifications(shop, reference)),
                   timeout=15, interval=0.05, what="the order confirmation")
        lag = time.monotonic() - start
        wait_until(lambda: shop.metric("notification", "messages_consumed_total",
                                       queue="notification.order-topic",
                                       outcome="duplicate") - duplicates >= 5,
                   timeout=20, what="5 duplicates consumed")
    assert shop.metric("order", "messages_published_total",
                       routing_key="order.confirmed") - published == 6
    assert lag >= 1.0
    stored = [n for n in _notifications(shop, reference) if n["type"] == "ORDER_CONFIRMATION"]
    assert len(stored) == 1
    mails = [m for m in read_mails(shop.stack.var_dir / "mail")
             if m.header("X-Order-Reference") == reference
             and m.header("X-Notification-Type") == "ORDER_CONFIRMATION"]
    assert len(mails) == 1


def test_notification_memory_leak_grows_rss(shop: Shop, buyer: str) -> None:
    def rss() -> float:
        return shop.metric("notification", "process_resident_memory_bytes")

    before = rss()
    with shop.flag(faults.NOTIFICATION_MEMORY_LEAK, "10000x"):
        references = [_ref() for _ in range(3)]
        for reference in references:
            assert shop.place(shop.order_body(buyer, shop.product(), reference=reference)
                              ).status_code == 200
        wait_until(lambda: all(len(_notifications(shop, r)) == 2 for r in references),
                   timeout=15, what="6 notifications")
        grown = rss() - before
    # 6 message bodies of ~300 bytes kept 10000 times each: ~18 MB
    assert grown > 10 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB only"


def test_failed_readiness_probe_fails_only_the_targeted_service(shop: Shop) -> None:
    with shop.flag(faults.FAILED_READINESS_PROBE, "on", only=("service", "customer")):
        down = shop.get("customer", "/health/ready")
        assert down.status_code == 503
        assert "failedReadinessProbe" in down.json()["reason"]
        assert shop.get("product", "/health/ready").status_code == 200
        assert shop.get("customer", "/health/live").status_code == 200
    assert shop.get("customer", "/health/ready").status_code == 200
