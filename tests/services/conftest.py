"""Fixtures of the shop's service tests: HTTP access to the session stack and a customer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.stack import Stack
from tests.services._shop import Shop


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[Shop]:
    shop = Shop(stack)
    yield shop
    shop.http.close()


@pytest.fixture(scope="module")
def buyer(shop: Shop) -> str:
    """A customer the module's orders are placed for."""
    return shop.customer()
