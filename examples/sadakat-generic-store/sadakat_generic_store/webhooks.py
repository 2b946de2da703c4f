"""Generic Store webhooks: Standard Webhooks deliveries with a JSON body
``{"type": "order.updated", "timestamp": "...", "data": {...}}``.

The store's webhook URL names the connection, so ``identify`` returns no external id; the
``webhook-id`` header is the deduplication key (the same on every retry of one message).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from connectors.sdk import (
    CustomerUpserted,
    Event,
    OrderDeleted,
    OrderUpserted,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)
from sadakat_generic_store import mapping, signing

TOPICS = ("customer.created", "customer.updated", "order.created", "order.updated", "order.deleted")


class GenericStoreWebhooks(WebhookHandler):
    platform = "generic_store"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        lower = {k.lower(): v for k, v in headers.items()}
        if not lower.get("webhook-id") or not lower.get("webhook-signature"):
            raise WebhookRejected("missing webhook-id or webhook-signature header")
        try:
            topic = json.loads(body)["type"]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("body is not a JSON object with a 'type'") from None
        return WebhookDelivery(topic=str(topic), delivery_id=lower["webhook-id"], external_id=None)

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        return signing.verify(headers, body, secrets)

    def parse(self, topic: str, body: bytes) -> list[Event]:
        """Events of one delivery; ``ValueError`` for a payload we cannot read (kept as failed)."""
        try:
            data = json.loads(body)["data"]
            if topic in ("customer.created", "customer.updated"):
                return [CustomerUpserted(customer=mapping.customer(data))]
            if topic in ("order.created", "order.updated"):
                return [OrderUpserted(order=mapping.order(data))]
            if topic == "order.deleted":
                return [OrderDeleted(order_platform_id=str(data["id"]))]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed {topic} payload: missing or wrong {exc}") from None
        return []  # a topic we do not use: acknowledged and ignored
