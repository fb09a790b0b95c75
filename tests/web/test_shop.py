"""The web shop in headless Chromium against the real stack: catalog, checkout, history, trace."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web._web import WEB, screenshot

pytestmark = pytest.mark.timeout(120)
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
BACKEND = {"gateway", "customer", "product", "order", "payment"}


def open_view(page: Page, stack, view: str) -> None:
    page.goto(f"{stack.gateway_url}/#/{view}")


def add_products(page: Page, count: int) -> None:
    """Add the first `count` addable products of the catalog's first page."""
    addable = page.locator("[data-testid=product] button:enabled")
    expect(addable.first).to_be_visible(timeout=15_000)
    for i in range(count):
        addable.nth(i).click()


def fill_new_customer(page: Page, email: str) -> None:
    page.get_by_label("New customer").check()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Street").fill("Main Street")
    page.get_by_label("House number").fill("7")
    page.get_by_label("ZIP code").fill("10115")


def go_checkout(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name=re.compile("^Checkout")).click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()


def sold_out_product(stack) -> str:
    """A product whose last unit was just bought through the API: its name."""
    name = f"Sold-out lamp {uuid.uuid4().hex[:6]}"
    products = httpx.get(f"{stack.gateway_url}/api/v1/products?size=1", timeout=10).json()
    created = httpx.post(
        f"{stack.gateway_url}/api/v1/products",
        json={
            "name": name,
            "description": "the last one went yesterday",
            "availableQuantity": 1,
            "price": 12.5,
            "categoryId": products[0]["categoryId"],
        },
        timeout=10,
    )
    assert created.status_code == 200, created.text
    bought = httpx.post(
        f"{stack.gateway_url}/api/v1/products/purchase",
        json=[{"productId": created.json(), "quantity": 1}],
        timeout=10,
    )
    assert bought.status_code == 200, bought.text
    return name


def test_catalog_filters_pages_and_refuses_out_of_stock(page: Page, stack) -> None:
    sold_out = sold_out_product(stack)
    open_view(page, stack, "catalog")
    products = page.get_by_test_id("product")
    expect(products.first).to_be_visible(timeout=15_000)
    expect(page.get_by_text(re.compile(r"^Page 1 of [2-9]"))).to_be_visible()
    screenshot(page, "catalog")

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(re.compile(r"^Page 2 of"))).to_be_visible()

    category = page.get_by_label("Category")
    first_category = category.locator("option").nth(1).inner_text()
    category.select_option(label=first_category)
    for text in page.locator("[data-testid=product] .category").all_inner_texts():
        assert text == first_category
    category.select_option(label="All categories")

    page.get_by_label("Search products").fill(sold_out)
    expect(products).to_have_count(1)
    expect(products.first.get_by_text("Out of stock", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name=f"Add {sold_out} to cart")).to_be_disabled()
    screenshot(page, "catalog-out-of-stock")


def _trace(stack, trace_id: str, services: set[str], timeout: float = 20) -> list[dict]:
    """The trace from the collector once spans of all `services` (and `web`) arrived and
    every span's parent is in it (spans come in batches from several exporters)."""
    deadline = time.monotonic() + timeout
    spans: list[dict] = []
    while time.monotonic() < deadline:
        r = httpx.get(f"{stack.collector_url}/api/v2/trace/{trace_id}", timeout=5)
        if r.status_code == 200:
            spans = r.json()
            seen = {s.get("localEndpoint", {}).get("serviceName") for s in spans}
            ids = {s["id"] for s in spans}
            orphans = [s for s in spans if s.get("parentId") and s["parentId"] not in ids]
            if services | {"web"} <= seen and not orphans:
                return spans
        time.sleep(0.5)
    seen = sorted({s.get("localEndpoint", {}).get("serviceName") for s in spans})
    pytest.fail(f"trace {trace_id} incomplete after {timeout} s: services {seen}, {spans}")


def test_checkout_click_roots_the_whole_backend_trace(page: Page, stack) -> None:
    open_view(page, stack, "catalog")
    add_products(page, 2)
    page.locator("[data-testid=product] button:enabled").first.click()  # a second unit
    go_checkout(page)
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    total = page.get_by_test_id("cart-total").inner_text()
    fill_new_customer(page, f"grace.{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Payment method").select_option(label="Visa")
    screenshot(page, "checkout")

    page.get_by_role("button", name=re.compile("^Place order")).click()
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_contain_text("confirmed", timeout=30_000)
    expect(page.get_by_test_id("outcome-total")).to_have_text(total)
    order_id = re.search(r"Order #(\d+)", outcome.inner_text()).group(1)
    trace_id = outcome.get_by_test_id("trace-id").inner_text()
    assert TRACE_ID.match(trace_id), trace_id
    screenshot(page, "confirmation")

    outcome.get_by_role("link", name="See your order history").click()
    order = page.locator(f"[data-testid=order][data-order-id='{order_id}']")
    expect(order).to_be_visible(timeout=15_000)
    expect(order).to_contain_text("paid")
    expect(order.get_by_test_id("trace-id")).to_have_text(trace_id)
    expect(order.locator(".lines li")).to_have_count(2)
    link = order.get_by_role("link", name=f"Trace {trace_id} in Zipkin")
    assert link.get_attribute("href").endswith(f"/traces/{trace_id}")
    screenshot(page, "order-history")

    spans = _trace(stack, trace_id, BACKEND)
    roots = [s for s in spans if not s.get("parentId")]
    assert len(roots) == 1, [(s["localEndpoint"]["serviceName"], s.get("name")) for s in roots]
    assert roots[0]["localEndpoint"]["serviceName"] == "web"
    assert roots[0]["name"].lower() == "checkout"
    by_id = {s["id"]: s for s in spans}
    gateway_servers = [
        s for s in spans
        if s["localEndpoint"]["serviceName"] == "gateway" and s.get("kind") == "SERVER"
    ]
    assert gateway_servers, "no gateway server span"
    for span in gateway_servers:  # every gateway hop hangs under a fetch span of the browser
        assert by_id[span["parentId"]]["localEndpoint"]["serviceName"] == "web"


def test_payment_down_shows_pending(page: Page, stack) -> None:
    stack.stop("payment")
    try:
        open_view(page, stack, "catalog")
        add_products(page, 1)
        go_checkout(page)
        fill_new_customer(page, f"pending.{uuid.uuid4().hex[:8]}@example.com")
        page.get_by_role("button", name=re.compile("^Place order")).click()
        outcome = page.get_by_test_id("outcome")
        expect(outcome).to_contain_text("payment pending", timeout=30_000)
        expect(outcome.get_by_test_id("trace-id")).to_have_text(TRACE_ID)
        screenshot(page, "payment-pending")
        order_id = re.search(r"Order #(\d+)", outcome.inner_text()).group(1)
        open_view(page, stack, "orders")
        order = page.locator(f"[data-testid=order][data-order-id='{order_id}']")
        expect(order).to_contain_text("payment pending", timeout=15_000)
    finally:
        stack.start("payment")


def test_api_field_errors_land_on_their_fields(page: Page, stack) -> None:
    open_view(page, stack, "catalog")
    add_products(page, 1)
    go_checkout(page)
    fill_new_customer(page, "not-an-email")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    alert = page.get_by_test_id("checkout-error")
    expect(alert).to_contain_text("customer could not be created", timeout=15_000)
    expect(alert).to_contain_text("email")
    email = page.get_by_label("E-mail")
    expect(email).to_have_attribute("aria-invalid", "true")
    screenshot(page, "field-errors")


def test_phone_width_and_keyboard_only(stack, web_dist, browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        open_view(page, stack, "catalog")
        expect(page.get_by_test_id("product").first).to_be_visible(timeout=15_000)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page is {overflow}px wider than the phone"
        screenshot(page, "catalog-phone")

        for _ in range(40):  # Tab to the first enabled "Add … to cart" button
            page.keyboard.press("Tab")
            label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
            if label.startswith("Add ") and page.evaluate("!document.activeElement.disabled"):
                break
        else:
            pytest.fail("no 'Add to cart' button reachable with Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_label("1 items in cart")).to_be_visible()
        go_checkout(page)
        screenshot(page, "checkout-phone")
    finally:
        context.close()


@pytest.fixture(scope="module")
def vite_dev(stack) -> Iterator[int]:
    """The Vite dev server on 5173 + offset, talking to the stack's gateway across origins."""
    port = 5173 + stack.settings.shop_port_offset
    env = {
        **os.environ,
        "SHOP_PORT_OFFSET": str(stack.settings.shop_port_offset),
        "VITE_GATEWAY_URL": stack.gateway_url,
    }
    process = subprocess.Popen(
        ["npx", "vite", "--host", "127.0.0.1", "--clearScreen", "false"],
        cwd=WEB,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # npx runs vite as a child: stop the whole group
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"vite dev server exited: {process.stdout.read()[-2000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("vite dev server not up within 60 s")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def test_dev_origin_works_across_origins_and_a_foreign_one_is_refused(
    vite_dev: int, page: Page
) -> None:
    # http://localhost:<5173+offset> is the gateway's dev origin: the catalog loads, and the
    # fetches carry `traceparent` (a preflighted header) to the gateway
    requests: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: requests.append(r.headers) if "/api/v1/products" in r.url else None,
    )
    page.goto(f"http://localhost:{vite_dev}/#/catalog")
    expect(page.get_by_test_id("product").first).to_be_visible(timeout=30_000)
    assert any("traceparent" in h for h in requests), requests
    screenshot(page, "dev-server-catalog")

    # the same page from http://127.0.0.1:<port> is another origin: the browser blocks it
    page.goto(f"http://127.0.0.1:{vite_dev}/#/catalog")
    expect(page.get_by_role("alert")).to_contain_text("could not be reached", timeout=30_000)
    screenshot(page, "foreign-origin-refused")
