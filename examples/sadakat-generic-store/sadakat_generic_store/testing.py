"""The conformance hooks for this connector, importable by any test suite that wants to run
Sadakat's conformance suite against it (this package's tests, Sadakat's own CI)::

    class TestGenericStoreConformance(GenericStoreConformance):
        pass
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from connectors.sdk import ContactRef
from connectors.sdk.conformance import ConnectorConformance
from sadakat_generic_store.connector import GenericStoreConnector
from sadakat_generic_store.fake import FakeGenericStore


class GenericStoreConformance(ConnectorConformance):
    connector_class = GenericStoreConnector

    def start_fake(self) -> FakeGenericStore:
        return FakeGenericStore(seed=3, customers=25, orders=35)

    def settings_for(self, fake: FakeGenericStore) -> dict[str, Any]:
        return {"base_url": fake.url, "api_key": fake.api_key,
                "webhook_secret": fake.webhook_secret, "page_size": 10}

    def bad_settings(self, fake: FakeGenericStore) -> list[dict[str, Any]]:
        good = self.settings_for(fake)
        return [
            {**good, "base_url": "ftp://shop.example.com"},
            {**good, "api_key": "short"},
            {**good, "webhook_secret": "not-a-whsec-secret"},
            {**good, "page_size": 500},
        ]

    def inject_rate_limit(self, fake: FakeGenericStore, retry_after: int) -> None:
        fake.rate_limit(retry_after=retry_after)

    def signed_webhook(self, fake: FakeGenericStore, connector: Any) -> tuple[Mapping[str, str], bytes]:
        return fake.signed_delivery("order.updated", fake.order(1))

    def stale_webhook(self, fake: FakeGenericStore, connector: Any) -> tuple[Mapping[str, str], bytes]:
        return fake.signed_delivery("order.updated", fake.order(1), timestamp=int(time.time()) - 600)

    def remote_attributes(self, fake: FakeGenericStore, contact: ContactRef) -> Mapping[str, Any]:
        return fake.attributes.get(int(contact.platform_id), {})
