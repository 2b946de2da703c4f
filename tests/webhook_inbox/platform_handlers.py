"""Minimal WooCommerce, Mailchimp and Klaviyo handlers for the receiver's route tests.

The real ones are written on the connector branches against the same ``WebhookHandler``
contract; these follow the platforms' documented signing and the inbox's dedup rules so the
routes can be tested end to end before those branches land. They are registered through the
receiver's public ``register_handler``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qs

from connectors.sdk import (
    Consent,
    ConsentChanged,
    CustomerRecord,
    CustomerUpserted,
    Event,
    WebhookDelivery,
    WebhookHandler,
    WebhookRejected,
)


class WooCommerceTestHandler(WebhookHandler):
    platform = "woocommerce"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        topic = headers.get("X-WC-Webhook-Topic")
        if not topic:
            raise WebhookRejected("missing X-WC-Webhook-Topic")
        try:
            resource = json.loads(body)
        except ValueError:
            raise WebhookRejected("body is not JSON") from None
        # The delivery id is new on every send and the body is the resource's current state:
        # the same (resource, id, date_modified) is the same event.
        key = f"{topic.split('.')[0]}:{resource.get('id')}:{resource.get('date_modified_gmt') or resource.get('date_modified')}"
        return WebhookDelivery(topic=topic, delivery_id=key, external_id=None)

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        given = headers.get("X-WC-Webhook-Signature", "")
        return any(
            hmac.compare_digest(
                base64.b64encode(hmac.new(s.encode(), body, hashlib.sha256).digest()).decode(), given)
            for s in secrets
        )

    def parse(self, topic: str, body: bytes) -> list[Event]:
        resource = json.loads(body)
        if topic.startswith("customer."):
            return [CustomerUpserted(customer=CustomerRecord(
                platform_id=str(resource["id"]), email=resource["email"]))]
        return []


class MailchimpTestHandler(WebhookHandler):
    platform = "mailchimp"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        form = parse_qs(body.decode())
        kind, fired_at, email = (form.get(k, [""])[0] for k in ("type", "fired_at", "data[email]"))
        if not kind:
            raise WebhookRejected("no type")
        return WebhookDelivery(topic=kind, delivery_id=f"{kind}:{email}:{fired_at}", external_id=None)

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        return False  # unsigned platform: the receiver checks the URL secret instead

    def parse(self, topic: str, body: bytes) -> list[Event]:
        form = parse_qs(body.decode())
        changed = datetime.strptime(form["fired_at"][0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        consent = {"unsubscribe": Consent.UNSUBSCRIBED, "cleaned": Consent.CLEANED}.get(topic)
        if consent is None:
            return []
        return [ConsentChanged(email=form["data[email]"][0], consent=consent, changed_at=changed)]


class KlaviyoTestHandler(WebhookHandler):
    platform = "klaviyo"

    def identify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        try:
            payload = json.loads(body)
            return WebhookDelivery(topic=payload["topic"], delivery_id=payload["id"], external_id=None)
        except (ValueError, KeyError):
            raise WebhookRejected("unreadable Klaviyo payload") from None

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        stamp = headers.get("Klaviyo-Timestamp", "")
        given = headers.get("Klaviyo-Signature", "")
        return any(
            hmac.compare_digest(hmac.new(s.encode(), body + stamp.encode(), hashlib.sha256).hexdigest(), given)
            for s in secrets
        )

    def parse(self, topic: str, body: bytes) -> list[Event]:
        return []
