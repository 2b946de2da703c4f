import json
import time
import uuid

from connectors.shopify.webhooks import sign

from connectors.sdk.conformance import ConnectorConformance
from connectors.shopify.connector import ShopifyConnector
from connectors.shopify.fake import FakeShopify


class TestShopifyConformance(ConnectorConformance):
    connector_class = ShopifyConnector

    def start_fake(self):
        return FakeShopify(seed=7, customers=60, orders=60, shop=f"shop-{uuid.uuid4().hex[:10]}.myshopify.com")

    def settings_for(self, fake):
        return {"shop": fake.shop, "access_token": fake.token, "api_secret": fake.api_secret,
                "endpoint": fake.url, "bulk_poll_seconds": 0.02, "timeout": 5.0, "bulk_page_size": 20}

    def bad_settings(self, fake):
        good = self.settings_for(fake)
        return [{**good, "shop": "not a shop"}, {**good, "birthday_metafield": "nodot"}]

    def inject_rate_limit(self, fake, retry_after):
        fake.inject("throttle")
        return 0.0  # Shopify sends no Retry-After: the wait comes from the cost bucket

    def signed_webhook(self, fake, connector):
        body = json.dumps({"id": 7001, "email": "Ada@Example.com", "first_name": "Ada",
                           "created_at": "2026-01-02T10:00:00Z", "updated_at": "2026-01-03T10:00:00Z"}).encode()
        return {"X-Shopify-Topic": "customers/update", "X-Shopify-Shop-Domain": fake.shop,
                "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Hmac-Sha256": sign(body, fake.api_secret),
                "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, body

    def remote_attributes(self, fake, contact):
        index = fake.store.customer_index(f"gid://shopify/Customer/{contact.platform_id}")
        return {key: int(value) if value.lstrip("-").isdigit() else value
                for (i, namespace, key), (_, value) in fake.store.metafields.items()
                if i == index and namespace == "sadakat"}

