"""Chaos on the test stack: clients keep ordering while payment, order and notification are
stopped in turn at random moments. Afterwards no acknowledged order is lost, no order is paid
twice, every order is PAID, and the mail sink holds exactly one order and one payment mail per
order (stopping notification between storing a confirmation and mailing it loses no mail).

`CHAOS_CLIENTS` × `CHAOS_SECONDS` (default the issue's 20 × 60).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest

from services.mailsink import read_mails
from services.stack import Stack
from tests.services._shop import Shop, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "20"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "60"))
VICTIMS = ("payment", "order", "notification")


def place_until_answered(http: httpx.Client, url: str, body: dict, key: str,
                         give_up: float) -> int:
    """POST the order under one Idempotency-Key until the shop answers for it (as a shop
    front would: a 5xx — a service stopped mid-request answers 500 — or a dropped connection
    is retried with the same key)."""
    while True:
        try:
            response = http.post(url, json=body, headers={"Idempotency-Key": key})
            if response.status_code < 500:
                return response.status_code
        except httpx.TransportError:
            pass
        if time.monotonic() > give_up:
            return 0
        time.sleep(0.3)


def test_stopping_services_in_turn_loses_no_order_and_no_mail(stack: Stack) -> None:
    shop = Shop(stack, timeout=30)
    customers = [shop.customer() for _ in range(CLIENTS)]
    product = shop.product(stock=10_000_000, price=1.0)
    url = f"{stack.gateway_url}/api/v1/orders"
    end = time.monotonic() + SECONDS
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < end:
                key = f"CH-{index}-{uuid.uuid4().hex[:16]}"
                body = shop.order_body(customers[index], product)
                status = place_until_answered(http, url, body, key, end + 60)
                with lock:
                    answers[key] = status

    def chaos() -> None:
        rng = random.Random(22)
        slot = SECONDS / len(VICTIMS)
        for i, victim in enumerate(VICTIMS):
            start = time.monotonic() + rng.uniform(0.1, 0.4) * slot
            time.sleep(max(0.0, start - time.monotonic()))
            stack.stop(victim)
            time.sleep(rng.uniform(0.15, 0.3) * slot)
            stack.start(victim)
            time.sleep(max(0.0, end - SECONDS + (i + 1) * slot - time.monotonic()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    chaos_thread = threading.Thread(target=chaos)
    for thread in [*threads, chaos_thread]:
        thread.start()
    for thread in [*threads, chaos_thread]:
        thread.join()

    statuses = Counter(answers.values())
    print(f"{len(answers)} orders placed by {CLIENTS} clients in {SECONDS:.0f} s: {statuses}")
    assert set(statuses) <= {200, 202}, statuses  # each one answered: paid or pending
    references = set(answers)

    def stored() -> dict[str, dict]:
        orders = {}
        for customer in customers:
            for order in shop.get("order", "/api/v1/orders",
                                  params={"customerId": customer}).json():
                orders[order["reference"]] = order
        return orders

    def all_paid() -> dict[str, dict] | None:
        orders = stored()
        done = references <= set(orders) and all(o["status"] == "PAID" for o in orders.values())
        return orders if done else None

    orders = wait_until(all_paid, timeout=120, interval=1, what="every order PAID")
    assert set(orders) == references  # 0 lost, none made twice (a retry is the same order)
    paid = Counter(p["orderReference"] for c in customers
                   for p in shop.get("payment", "/api/v1/payments",
                                     params={"customerId": c}).json())
    assert {r: paid[r] for r in references} == dict.fromkeys(references, 1)  # no double pay

    kinds = ("ORDER_CONFIRMATION", "PAYMENT_CONFIRMATION")

    def mails() -> Counter:
        return Counter((m.header("X-Order-Reference"), m.header("X-Notification-Type"))
                       for m in read_mails(stack.var_dir / "mail")
                       if m.header("X-Order-Reference") in references)

    wanted = {(r, kind) for r in references for kind in kinds}
    wait_until(lambda: set(mails()) == wanted, timeout=90, interval=1,
               what="a mail of each kind for every order")
    time.sleep(2)  # a duplicate would come right behind
    counted = mails()
    assert set(counted) == wanted and set(counted.values()) == {1}, [
        k for k, n in counted.items() if n != 1]
