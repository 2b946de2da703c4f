"""The WooCommerce connector passes the connector conformance suite against its fake."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from connectors.sdk import ContactRef
from connectors.sdk.conformance import ConnectorConformance
from connectors.woocommerce.connector import META_PREFIX, WooCommerceConnector
from connectors.woocommerce.fake import FakeWooCommerce

SECRET = "webhook-secret-0123456789abcdef"


class TestWooCommerceConformance(ConnectorConformance):
    connector_class = WooCommerceConnector

    def start_fake(self) -> FakeWooCommerce:
        return FakeWooCommerce(seed=21, customers=30, orders=30)

    def settings_for(self, fake: FakeWooCommerce) -> dict[str, Any]:
        return {"url": fake.url, "consumer_key": fake.default_key.consumer_key,
                "consumer_secret": fake.default_key.consumer_secret,
                "allow_insecure_http": True, "timeout": 10, "webhook_secrets": {"1": SECRET}}

    def bad_settings(self, fake: FakeWooCommerce) -> list[dict[str, Any]]:
        good = self.settings_for(fake)
        return [{**good, "allow_insecure_http": False}, {**good, "url": "ftp://shop.example"},
                {**good, "timeout": 0}]

    def make_connector(self, plain: Any, secrets: Any, policy: Any) -> WooCommerceConnector:
        connector = super().make_connector(plain, secrets, policy)
        connector.page_size = 10  # 30 customers and 30 orders make three pages each
        return connector

    def inject_rate_limit(self, fake: FakeWooCommerce, retry_after: int) -> None:
        fake.inject(429, retry_after=str(retry_after))

    def signed_webhook(self, fake: FakeWooCommerce, connector: Any) -> tuple[dict[str, str], bytes]:
        body = json.dumps(fake.store.order(7)).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        return {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Resource": "order",
                "X-WC-Webhook-Event": "updated", "X-WC-Webhook-Signature": signature.decode(),
                "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": "5",
                "X-WC-Webhook-Source": f"{fake.url}/"}, body

    def remote_attributes(self, fake: FakeWooCommerce, contact: ContactRef) -> dict[str, Any]:
        meta = fake.store.customer(int(contact.platform_id))["meta_data"]
        return {m["key"].removeprefix(META_PREFIX): m["value"] for m in meta
                if m["key"].startswith(META_PREFIX)}
