"""Fixtures for the Shopify connector: a fake Shopify over real HTTP and a connected shop."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors.sdk import RetryPolicy
from connectors.shopify.connector import ShopifyConnector, ShopifySettings
from connectors.shopify.fake import FakeShopify
from connectors.shopify.install import connect_shop


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    # A shop of its own per test: tests share one database, and a shop is one connection.
    shop = f"shop-{uuid.uuid4().hex[:10]}.myshopify.com"
    with FakeShopify(seed=7, customers=60, orders=150, shop=shop, timeout_delay=1.0) as server:
        yield server


def settings_for(fake: FakeShopify, **overrides) -> ShopifySettings:
    values = dict(shop=fake.shop, access_token=fake.token, api_secret=fake.api_secret,
                  endpoint=fake.url, bulk_poll_seconds=0.02, timeout=5.0,
                  birthday_metafield="facts.birth_date")
    values.update(overrides)
    return ShopifySettings(**values)


def fast_policy(attempts: int = 6) -> RetryPolicy:
    """Real retries with short backoff (jitter kept) so tests stay quick."""
    return RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=2.0)


@pytest.fixture
def connector(fake) -> ShopifyConnector:
    return ShopifyConnector(settings_for(fake), policy=fast_policy())


@pytest.fixture
def installed(engine, box, fake):
    """A shop connected in custom-app mode: (Installed, connector)."""
    settings = settings_for(fake, shop=fake.shop)
    result = connect_shop(engine, box, settings, public_url="http://127.0.0.1:9")
    return result, ShopifyConnector(settings, policy=fast_policy())
