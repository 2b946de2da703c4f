"""Receiver and worker fixtures: the real Flask app on the test database, a Shopify shop.

The Shopify connector class lives on its own branch; the real Shopify webhook handler is
registered here through the receiver's public ``register_handler``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.shopify.webhooks import ShopifyWebhooks
from integration.accounts import add_connection
from integration.app import create_app
from integration.db import write_session
from integration.models import Account, Connection
from integration.runtime import Runtime
from webhooks.routing import register_handler

SHOP_SECRET = "shpss_test_secret_0123456789abcdef"

register_handler(ShopifyWebhooks())


@pytest.fixture
def runtime(settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["sadakat"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def shop(engine, box, account) -> Connection:
    with write_session(engine) as session:
        account = session.get(Account, account.id)
        return add_connection(
            session, box, account, platform="shopify",
            external_id=f"shop-{uuid.uuid4().hex[:8]}.myshopify.com",
            credentials={"access_token": "shpat_x", "api_secret": SHOP_SECRET},
        )


@pytest.fixture
def public_app(settings):
    """A deployment running Sadakat as a public Shopify app: one API secret for every shop, in
    the settings (shops installed by OAuth hold only their access token)."""
    public = settings.model_copy(
        update={"shopify": settings.shopify.model_copy(update={"api_secret": SHOP_SECRET})}
    )
    app = create_app(public)
    yield app
    app.extensions["sadakat"].close()


@pytest.fixture
def public_shop(engine, box, account) -> Connection:
    with write_session(engine) as session:
        account = session.get(Account, account.id)
        return add_connection(
            session, box, account, platform="shopify",
            external_id=f"public-{uuid.uuid4().hex[:8]}.myshopify.com",
            credentials={"access_token": "shpat_x"},
        )


def shopify_headers(
    shop: str, topic: str, body: bytes, *, secret: str = SHOP_SECRET, event_id: str | None = None,
    triggered_at: datetime | None = None,
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": (triggered_at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }


def post_shopify(client, shop: str, topic: str, payload: Any, **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers(shop, topic, body, **kwargs)
    )
