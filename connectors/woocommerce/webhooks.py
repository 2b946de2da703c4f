"""WooCommerce webhooks: recognise, authenticate, and turn into domain events.

- Signature: ``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(raw body, the webhook's secret)),
  compared in constant time against every secret of the connection (one per webhook).
- Deduplication: WooCommerce gives every send a new ``X-WC-Webhook-Delivery-ID`` and rebuilds the
  payload from the resource's current state, so the key is
  ``<resource>:<id>:<date_modified_gmt>`` — the same state delivered twice is one delivery.
- Ping: on creation WooCommerce POSTs the form body ``webhook_id=<id>`` with no signature and no
  topic; it is recognised (topic ``ping``), verified trivially and parsed into nothing.
- Payloads are the REST representation of the resource, so ``mapping`` serves both webhooks and
  syncs; ``*.deleted`` carries only ``{"id": ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from connectors.sdk import (
    CustomerUpserted,
    Event,
    OrderDeleted,
    OrderUpserted,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)
from connectors.woocommerce.mapping import customer_record, order_record

TOPICS = ("order.created", "order.updated", "order.deleted", "customer.created", "customer.updated")
PING = "ping"


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return (value or "").strip()


def ping_id(body: bytes) -> str | None:
    """The webhook id of a ping (``webhook_id=<id>``), or None for anything else."""
    if not body.startswith(b"webhook_id="):
        return None
    fields = parse_qs(body.decode("ascii", "replace"))
    values = fields.get("webhook_id") or []
    if set(fields) != {"webhook_id"} or len(values) != 1 or not values[0].isdigit():
        return None
    return values[0]


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    return payload


class WooCommerceWebhooks(WebhookHandler):
    platform = "woocommerce"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        hook = ping_id(body)
        if hook is not None:
            return WebhookDelivery(topic=PING, delivery_id=f"ping:{hook}", external_id=None)
        topic = _header(headers, "X-WC-Webhook-Topic")
        if not topic or "." not in topic:
            raise WebhookRejected("missing or malformed X-WC-Webhook-Topic header")
        if not _header(headers, "X-WC-Webhook-Signature"):
            raise WebhookRejected("missing X-WC-Webhook-Signature header")
        resource, _, event = topic.partition(".")
        try:
            payload = _payload(body)
            version = "deleted" if event == "deleted" else payload.get("date_modified_gmt")
            key = f"{resource}:{payload['id']}:{version}"
        except (ValueError, KeyError):
            # Kept (if signed) so the inbox records why it could not be read.
            key = f"{resource}:unreadable:{hashlib.sha256(body).hexdigest()[:32]}"
        return WebhookDelivery(topic=topic, delivery_id=key, external_id=None)

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        if ping_id(body) is not None:
            return True  # WooCommerce does not sign pings; a ping changes nothing
        given = _header(headers, "X-WC-Webhook-Signature").encode()
        if not given:
            return False
        for secret in secrets:
            expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
            if hmac.compare_digest(expected, given):
                return True
        return False

    def parse(self, topic: str, body: bytes) -> list[Event]:
        if topic == PING:
            return []
        resource, _, event = topic.partition(".")
        payload = _payload(body)
        if resource == "order" and event == "deleted":
            if not payload.get("id"):
                raise ValueError("order.deleted payload without an id")
            return [OrderDeleted(order_platform_id=str(payload["id"]))]
        if resource == "order" and event in ("created", "updated", "restored"):
            return [OrderUpserted(order=order_record(payload))]
        if resource == "customer" and event in ("created", "updated"):
            return [CustomerUpserted(customer=customer_record(payload))]
        return []  # topics nobody subscribed to: acknowledged and ignored
