"""A small load driver for the shop: customers browsing, buying, and making mistakes.

Task mix after the OpenTelemetry Demo's Locust file (browse » order history » checkout), plus
the mistakes real clients make (out-of-stock orders, invalid bodies). Every request goes
through the gateway, so each order is one multi-hop trace.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

PAYMENT_METHODS = ("PAYPAL", "CREDIT_CARD", "VISA", "MASTER_CARD", "BITCOIN")
FIRST_NAMES = ("Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan")
LAST_NAMES = ("Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie")

# (task name, weight)
TASKS: tuple[tuple[str, int], ...] = (
    ("browse", 6),
    ("product", 6),
    ("history", 2),
    ("customer", 1),
    ("order", 6),
    ("multi_order", 3),
    ("out_of_stock", 1),
    ("bad_request", 1),
)


@dataclass
class LoadResult:
    """What a load run did: request counts by task and status, and order outcomes."""

    requests: Counter = field(default_factory=Counter)
    orders: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str | None = None  # why the run ended before `orders` (one line), else None
    failed_in_a_row: int = 0  # order attempts since the last one that reached the shop

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def product_items(payload: object) -> list[dict]:
    """The product list from a page body (`{"items": [...]}`-style) or a bare list."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in ("items", "content", "products", "data"):
            if isinstance(payload.get(key), list):
                return payload[key]
    raise ValueError(f"unexpected product list body: {str(payload)[:120]}")


class Shopper:
    """One simulated customer session against the gateway."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random, result: LoadResult):
        self.client = client
        self.rng = rng
        self.result = result
        self.customer_id: str | None = None
        self.products: list[dict] = []

    async def _call(self, task: str, method: str, path: str, **kw) -> httpx.Response | None:
        try:
            resp = await self.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.result.requests[(task, "error")] += 1
            self.result.errors.append(f"{task}: {type(exc).__name__}: {exc}")
            return None
        self.result.requests[(task, resp.status_code)] += 1
        return resp

    async def ensure_customer(self) -> None:
        if self.customer_id:
            return
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        body = {
            "firstname": first,
            "lastname": last,
            "email": f"{first}.{last}.{uuid.uuid4().hex[:8]}@example.com".lower(),
            "address": {"street": "Main Street", "houseNumber": str(self.rng.randint(1, 99)),
                        "zipCode": f"{self.rng.randint(10000, 99999)}"},
        }
        resp = await self._call("signup", "POST", "/api/v1/customers", json=body)
        if resp is not None and resp.status_code < 300:
            self.customer_id = str(resp.json())

    async def refresh_products(self) -> None:
        resp = await self._call("browse", "GET", "/api/v1/products",
                                params={"page": 0, "size": 100})
        if resp is not None and resp.status_code == 200:
            self.products = product_items(resp.json())

    def _basket(self, lines: int) -> list[dict]:
        stocked = [p for p in self.products if float(p.get("availableQuantity", 0)) >= 1]
        chosen = self.rng.sample(stocked, k=min(lines, len(stocked)))
        return [{"productId": p["id"], "quantity": 1, "_price": float(p["price"])}
                for p in chosen]

    async def place_order(self, lines: int, *, quantity: int | None = None) -> str | None:
        """Place one order; None once the shop answered it, else why no order was made."""
        await self.ensure_customer()
        if not self.customer_id:
            return "no customer could be signed up"
        if not self.products:
            await self.refresh_products()
        basket = self._basket(lines)
        if not basket:
            # the listing may be stale (others bought the last items): look once more
            await self.refresh_products()
            basket = self._basket(lines)
        if not basket:
            return "no product in stock" if self.products else "no product listed"
        if quantity is not None:
            for line in basket:
                line["quantity"] = quantity
        amount = round(sum(line["_price"] * line["quantity"] for line in basket), 2)
        body = {
            "reference": f"LG-{uuid.uuid4().hex[:12]}",
            "amount": amount,
            "paymentMethod": self.rng.choice(PAYMENT_METHODS),
            "customerId": self.customer_id,
            "products": [{"productId": x["productId"], "quantity": x["quantity"]}
                         for x in basket],
        }
        task = "out_of_stock" if quantity else ("order" if lines == 1 else "multi_order")
        resp = await self._call(task, "POST", "/api/v1/orders", json=body)
        if resp is None:
            return self.result.errors[-1].splitlines()[0]
        self.result.orders[resp.status_code] += 1
        if resp.status_code == 409:
            await self.refresh_products()
        return None

    async def run_task(self, task: str) -> str | None:
        """Run one task; for an order task, why no order was made (None: one was)."""
        if task == "browse":
            await self.refresh_products()
        elif task == "product":
            if not self.products:
                await self.refresh_products()
            if self.products:
                pid = self.rng.choice(self.products)["id"]
                await self._call(task, "GET", f"/api/v1/products/{pid}")
        elif task == "history":
            await self.ensure_customer()
            if self.customer_id:
                await self._call(task, "GET", "/api/v1/orders",
                                 params={"customerId": self.customer_id})
        elif task == "customer":
            await self.ensure_customer()
            if self.customer_id:
                await self._call(task, "GET", f"/api/v1/customers/{self.customer_id}")
        elif task == "order":
            return await self.place_order(1)
        elif task == "multi_order":
            return await self.place_order(self.rng.randint(2, 4))
        elif task == "out_of_stock":
            return await self.place_order(1, quantity=100_000)
        elif task == "bad_request":
            body = self.rng.choice([
                {"paymentMethod": "VISA", "products": []},
                {"customerId": "", "amount": -1, "paymentMethod": "CASH", "products": []},
            ])
            await self._call(task, "POST", "/api/v1/orders", json=body)
        return None


MAX_FAILED_IN_A_ROW = 20


async def run_load(
    base_url: str,
    *,
    orders: int = 100,
    users: int = 6,
    seed: int = 1,
    think_s: float = 0.0,
    timeout_s: float = 10.0,
    on_request: Callable[[LoadResult], None] | None = None,
    max_failed: int = MAX_FAILED_IN_A_ROW,
) -> LoadResult:
    """Drive the task mix until `orders` order attempts have been made; return the counts.

    After `max_failed` order attempts in a row that could not reach the shop (no stock left,
    no customer, transport errors) the run stops early and says why in `result.stopped`.
    """
    result = LoadResult()
    names, weights = zip(*TASKS, strict=True)
    started = time.perf_counter()
    order_tasks = {"order", "multi_order", "out_of_stock"}

    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as client:

        async def user(i: int) -> None:
            rng = random.Random(seed * 1000 + i)
            shopper = Shopper(client, rng, result)
            while sum(result.orders.values()) < orders and result.stopped is None:
                task = rng.choices(names, weights)[0]
                if task in order_tasks and sum(result.orders.values()) >= orders:
                    break
                failure = await shopper.run_task(task)
                if task in order_tasks and result.stopped is None:
                    result.failed_in_a_row = result.failed_in_a_row + 1 if failure else 0
                    if result.failed_in_a_row >= max_failed:
                        result.stopped = (f"stopped after {max_failed} order attempts in a "
                                          f"row made no order: {failure}")
                if on_request:
                    on_request(result)
                if think_s:
                    await asyncio.sleep(rng.uniform(0, 2 * think_s))

        await asyncio.gather(*(user(i) for i in range(users)))
    result.seconds = time.perf_counter() - started
    return result
