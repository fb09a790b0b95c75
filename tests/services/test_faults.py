"""Fault flags: the flagd-format evaluator, run-time reload, `shop flag`, and each flag's effect.

The effect tests flip flags in the test stack's own flag file (`SHOP_FLAGS_FILE` of the
`stack` fixture) and always switch them off again.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.cli import main as shop
from services.common import faults
from services.common.settings import REPO

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
    listed = runner.invoke(shop, ["flag", "--file", str(flag_file)], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "paymentFailure" in listed.output and "failedReadinessProbe" in listed.output
    done = runner.invoke(shop, ["flag", "productCatalogFailure", "on", "--only", "productId=9",
                                "--file", str(flag_file)])
    assert done.exit_code == 0, done.output
    store = faults.FlagStore(flag_file)
    assert store.value(faults.PRODUCT_CATALOG_FAILURE, productId="9") is True
    assert store.value(faults.PRODUCT_CATALOG_FAILURE, productId="1") is False
    bad = runner.invoke(shop, ["flag", "paymentFailure", "33%", "--file", str(flag_file)])
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
